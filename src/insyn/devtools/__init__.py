"""Checks for developers: run with `python -m insyn.devtools.<name>`."""
