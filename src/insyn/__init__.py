"""Insyn: systematic follow-up for Swedish municipal social services."""

__version__ = "0.1.0"
