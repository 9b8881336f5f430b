"""Indicators: declarative definitions compiled to Ibis expressions, precomputed into a table."""
