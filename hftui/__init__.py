"""hftui: a terminal wizard to set up, run, watch and replay Hugging Face training."""

__version__ = "0.1.0"
