"""Text with language models: generation (sampling or greedy, one model call per word)."""

from fnn.text.generate import LanguageModel as LanguageModel
from fnn.text.generate import generate as generate
from fnn.text.generate import next_word as next_word

__all__ = ["LanguageModel", "generate", "next_word"]
