"""FunRL: reinforcement learning for LLM function calling, built on verl.

Subpackages:
    funrl.reward     the BFCL-faithful AST reward (standard library only)
    funrl.data_prep  two-stage data preparation (LLM judge + AST validation)

Importing ``funrl`` pulls in neither torch nor verl.
"""

__version__ = "0.1.0"
