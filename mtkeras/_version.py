"""The package's version, in one place (setup.py and exports read it)."""

__version__ = "0.1.0"
