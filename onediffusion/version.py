"""The distribution's version, in a module that imports nothing (pyproject.toml and the launcher read it)."""

__version__ = "0.1.0"
