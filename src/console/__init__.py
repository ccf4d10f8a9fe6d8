"""Console: a multi-tenant hosted admin console."""

__version__ = "0.1.0"
