"""Work orders and human handoff (no Flask)."""
