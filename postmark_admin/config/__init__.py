"""The effective configuration: the field table, where each value came from, the row cache, secrets."""
