"""The examiner's round: rosters, shared clock, faults, marking, results (no Flask)."""
