"""The ISAO External API (``/api/external``), served by FastAPI."""
