"""fnn's benchmark suite (``python benchmarks/suite.py``); see ``benchmarks/RESULTS.md``."""
