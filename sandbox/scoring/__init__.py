"""Scoring: the rubric, the compliance rules and reports (no Flask, no DB writes)."""
