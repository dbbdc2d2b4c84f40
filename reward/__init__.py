"""The BFCL-faithful AST reward (imported as ``funrl.reward``). Standard library only."""
