"""The drill engine: scenarios, simulated customers, timers and the event log (no Flask).

``lifecycle`` starts, advances (``tick``) and finishes a drill; ``agent_turns`` is what the
candidate does and ``customer_turns`` how the simulated customer answers; ``event_log`` holds
events and messages, ``drill_clock`` the status and drill time, ``drill_contacts`` the lookups
of a drill and its contacts, ``drill_faults`` the faults in force, ``grading`` the scoring
input; ``scenario`` is the scenario format, its validation and the stored versions.
"""
