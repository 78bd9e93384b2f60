"""Bundled model specifications (TOML), shipped inside the wheel as ``bnsl_bayes.models``."""
