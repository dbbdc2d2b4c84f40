"""FunRL's Hydra recipes, installed as ``funrl.recipes``: the config root of ``python -m funrl.train``.

Layout (config groups are folders; each must sit physically inside this package for ``pkg://`` to see it
in both editable and regular installs):

- ``train.yaml``: the primary config; puts verl's config folder on the search path (found without importing verl).
- ``recipe/<name>.yaml``: selected with ``+recipe=<name>``; names the verl config it builds on in its
  defaults list and holds only what differs from verl's defaults.
- ``hardware/<gpu>.yaml`` (``hardware=<gpu>``) selects ``hardware/rl/<gpu>.yaml`` or
  ``hardware/sft/<gpu>.yaml``, whichever the recipe's stage needs.
- ``launch/``: Ray and SLURM launch scripts (not configs).
"""
