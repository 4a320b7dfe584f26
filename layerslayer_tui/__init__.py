"""Look inside container images straight from the registry."""

__version__ = "0.1.0"
