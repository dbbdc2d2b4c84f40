"""Executable environments for multi-turn function calling.

:mod:`funrl.envs.bfcl` runs BFCL's multi-turn API classes (from the installed ``bfcl-eval``, installed
with ``--no-deps``) safely -- calls are parsed, never evaluated -- with one isolated instance set per
trajectory, and checks trajectories with exactly BFCL's multi-turn verdicts. Importing this package
does not import bfcl-eval; importing :mod:`funrl.envs.bfcl` does.
"""
