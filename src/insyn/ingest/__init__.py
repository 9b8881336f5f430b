"""Ingest: read exports, map columns, validate, pseudonymise and load atomically."""
