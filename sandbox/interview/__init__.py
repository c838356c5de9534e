"""Spoken answers and interview practice: recordings (stored in the database, with limits and
checked types), the interview question bank and practice attempts. No Flask; takes a session
and a clock, never commits."""
