"""Seed content shipped with the sandbox (knowledge base, mock bank, scenarios)."""
