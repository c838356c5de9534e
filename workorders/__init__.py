"""Work orders and human handoff (no Flask).

``access`` (the acting user, who may see what), ``input_checks``, ``numbering``, ``sla`` (the
service-level table and due times), ``history``, ``queries`` (reading, and taking an order to
change it), ``creation``, ``changes`` (edits, waiting, transitions, follow-up, notes),
``presentation`` (orders as plain values), ``states`` (the transition table), ``vocab``,
``handoff`` (转人工) and ``models``.
"""
