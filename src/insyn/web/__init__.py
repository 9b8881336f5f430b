"""The web app (FastAPI + Jinja2): a thin face over the same functions as the CLI."""
