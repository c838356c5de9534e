"""Users, roles, passwords and API tokens (no Flask)."""
