"""FunReason-MT multi-turn data synthesis (arXiv 2510.24645) on BFCL's executable environments.

Phase I (this package's ``states``, ``params``, ``graph``, ``walk``): seeded initial states, the
environment-API graph (prerequisite edges found by execution, parameter dependencies from the
schemas) and the directed sampler whose executed calls form the rounds of a trajectory.
See docs/data_prep_multi_turn.md.
"""
