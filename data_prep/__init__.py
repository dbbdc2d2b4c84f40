"""Two-stage data preparation (imported as ``funrl.data_prep``): LLM judge iteration + AST validation.

    python -m funrl.data_prep all --config prep.yaml [key.sub=value ...]
    python -m funrl.data_prep demo --out DIR          # bundled sample, scripted loopback judge

From Python: ``load_config`` (``.config``), ``run_all`` / ``run_read`` / ``run_generate`` / ``run_judge`` /
``run_validate`` / ``run_export`` (``.pipeline``), ``run_demo`` (``.demo``).

Modules, in the order data flows: ``readers`` (+ ``schemas``) -> ``generate`` (stage 0) -> ``judge``
(stage 1; ``prompts``, ``client``, ``journal``) -> ``validate`` (stage 2, ``funrl.reward``) -> ``export``
+ ``report``; ``formats`` renders answers; ``loopback`` is the scripted teacher/judge of the demo and tests.
See docs/data_prep.md. Importing this package pulls in neither torch nor verl.
"""
