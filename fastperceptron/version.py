"""The version of fastperceptron (a leaf: the files it writes name it)."""

__version__ = "0.1.0"
