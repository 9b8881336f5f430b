"""The canonical model: tables of the import format, code lists and municipalities."""
