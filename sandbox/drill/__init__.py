"""The drill engine: scenarios, simulated customers, timers and the event log (no Flask)."""
