"""timkiem: search and indexing for Vietnamese news and article websites."""

__version__ = "0.1.0"
