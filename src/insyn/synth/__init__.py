"""Synthetic data for demos, tests and benchmarks: the canonical import tables for any set of
municipalities and years, calibrated to published national figures (calibration.yaml)."""
