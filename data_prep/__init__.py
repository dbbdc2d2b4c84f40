"""Two-stage data preparation (imported as ``funrl.data_prep``): LLM judge + AST validation."""
