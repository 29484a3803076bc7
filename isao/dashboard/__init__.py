"""The operator's dashboard: server-rendered pages (Jinja2, htmx for the live parts) behind a login."""
