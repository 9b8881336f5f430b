"""The workforce: staff subjects for the indicator engine, workload weights and norms."""
