"""ISAO: a self-hosted CRM and integration hub."""

__version__ = "0.1.0"
