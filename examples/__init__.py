"""Runnable examples of the course, one script per topic.

Run one from the project root, for instance ``python examples/ch02_perceptron.py``
(or ``python -m examples.ch02_perceptron``). Every example has
``main(argv) -> dict`` returning its key results, which ``tests/test_examples.py``
asserts, and writes its plots (PNG) under ``--out`` (default ``out/``).
"""
