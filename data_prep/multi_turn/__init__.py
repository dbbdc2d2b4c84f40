"""FunReason-MT multi-turn data synthesis (arXiv 2510.24645) on BFCL's executable environments.

    python -m funrl.data_prep multi_turn --config FILE        # or multi_turn_demo --out DIR

Phase I: ``states`` (seeded initial states), ``params`` + ``rules`` (arguments from the live state),
``graph`` (the environment-API graph: prerequisite edges found by execution, parameter dependencies
from the schemas), ``walk`` (the directed sampler; its executed calls form the rounds). Phases II-III:
``prompts`` (every prompt, ``PROMPT_VERSION``), ``synth`` (query writer, reasoner, checker, critic,
K_max). ``pipeline`` (resumable over data prep's journal), ``export`` (per-turn SFT rows, BFCL
multi-turn RL entries, contamination), ``sft_dataset`` (verl dataset: loss on the current turn, SRML
segments; needs torch), ``scripted`` + ``demo`` (scripted roles on loopback), ``benchmark``.
See docs/data_prep_multi_turn.md. Importing this package pulls in neither torch nor verl.
"""
