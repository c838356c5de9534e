"""Who may reach each route: the table the role × URL test walks.

Every registered endpoint must appear here, and its declared roles must equal the
entry (so a route added without a decision, or with a wrong one, fails the suite).
``url`` is a concrete URL to request (sample ids may not exist: a role that is let
through then gets a 404/400, which still proves the role check passed).
"""

C, E, T, A = "candidate", "examiner", "trainer", "admin"
ALL = frozenset({C, E, T, A})
PUBLIC = "public"

ROUTE_ROLES: dict[str, dict] = {
    # --- foundation ---------------------------------------------------------
    "auth.login": {"roles": PUBLIC, "url": "/login"},
    "auth.logout": {"roles": PUBLIC, "url": "/logout", "method": "post"},
    "main.dashboard": {"roles": ALL, "url": "/"},
    "main.users": {"roles": {A}, "url": "/admin/users"},
    "api.health": {"roles": PUBLIC, "url": "/api/v1/health"},
    "api.me": {"roles": ALL, "url": "/api/v1/me"},
    "api.change_password": {"roles": ALL, "url": "/api/v1/me/password", "method": "post"},
    # --- knowledge base -----------------------------------------------------
    "kb.index": {"roles": ALL, "url": "/kb/?q=挂失"},
    "kb.article": {"roles": ALL, "url": "/kb/articles/no-such-article"},
    "api.kb_search": {"roles": ALL, "url": "/api/v1/kb/search?q=挂失"},
    "api.kb_article": {"roles": ALL, "url": "/api/v1/kb/articles/no-such-article"},
    # --- mock bank ------------------------------------------------------------
    "bank.practice": {"roles": ALL, "url": "/practice"},
    "bank.practice_conversation": {"roles": ALL, "url": "/practice/999999"},
    "bank.practice_phone": {"roles": ALL, "url": "/practice/999999/phone"},
    "bank.examiner_customers": {"roles": {E, A}, "url": "/bank/customers"},
    "api.open_conversation": {"roles": ALL, "url": "/api/v1/conversations", "method": "post"},
    "api.conversation": {"roles": ALL, "url": "/api/v1/conversations/999999"},
    "api.close_conversation": {"roles": ALL, "url": "/api/v1/conversations/999999/close", "method": "post"},
    "api.identity_sms": {"roles": ALL, "url": "/api/v1/conversations/999999/identity/sms", "method": "post"},
    "api.identity_verify": {"roles": ALL, "url": "/api/v1/conversations/999999/identity/verify", "method": "post"},
    "api.phone": {"roles": ALL, "url": "/api/v1/conversations/999999/phone"},
    "api.customer_profile": {"roles": ALL, "url": "/api/v1/conversations/999999/customer"},
    "api.accounts": {"roles": ALL, "url": "/api/v1/conversations/999999/accounts"},
    "api.account_transactions": {"roles": ALL, "url": "/api/v1/conversations/999999/accounts/A1/transactions"},
    "api.account_freeze": {"roles": ALL, "url": "/api/v1/conversations/999999/accounts/A1/freeze", "method": "post"},
    "api.account_unfreeze": {"roles": ALL, "url": "/api/v1/conversations/999999/accounts/A1/unfreeze",
                             "method": "post"},
    "api.cards": {"roles": ALL, "url": "/api/v1/conversations/999999/cards"},
    "api.card_status": {"roles": ALL, "url": "/api/v1/conversations/999999/cards/K1"},
    "api.card_bill": {"roles": ALL, "url": "/api/v1/conversations/999999/cards/K1/bill"},
    "api.card_freeze": {"roles": ALL, "url": "/api/v1/conversations/999999/cards/K1/freeze", "method": "post"},
    "api.card_unfreeze": {"roles": ALL, "url": "/api/v1/conversations/999999/cards/K1/unfreeze", "method": "post"},
    "api.bank_customers": {"roles": ALL, "url": "/api/v1/bank/customers"},
    "api.bank_reveal": {"roles": {E, A}, "url": "/api/v1/bank/customers/C001/reveal", "method": "post"},
    # --- work orders and handoff --------------------------------------------
    # --- drills -----------------------------------------------------------------
    "api.scenarios_list": {"roles": ALL, "url": "/api/v1/scenarios"},
    "api.drills_start": {"roles": ALL, "url": "/api/v1/drills", "method": "post"},
    "api.drills_get": {"roles": ALL, "url": "/api/v1/drills/999999"},
    "api.drills_finish": {"roles": ALL, "url": "/api/v1/drills/999999/finish", "method": "post"},
    "api.drills_report": {"roles": ALL, "url": "/api/v1/drills/999999/report"},
    "api.messages_list": {"roles": ALL, "url": "/api/v1/conversations/999999/messages"},
    "api.messages_post": {"roles": ALL, "url": "/api/v1/conversations/999999/messages", "method": "post"},
    "api.messages_recognize": {"roles": ALL, "url": "/api/v1/conversations/999999/recognize", "method": "post"},
    "api.drills_compliance": {"roles": ALL, "url": "/api/v1/drills/999999/compliance", "method": "post"},
    "drills.index": {"roles": ALL, "url": "/drills"},
    "drills.start": {"roles": ALL, "url": "/drills/start", "method": "post"},
    "drills.console": {"roles": ALL, "url": "/drills/999999"},
    "drills.report": {"roles": ALL, "url": "/drills/999999/report"},
    "api.drill_assist": {"roles": ALL, "url": "/api/v1/conversations/999999/assist"},
    "api.drill_use_suggestion": {"roles": ALL, "url": "/api/v1/conversations/999999/suggestions/use", "method": "post"},
    # Trainers have no access to work orders or handoffs (declared decision);
    # candidates reach only their own (checked in tests/workorders).
    "workorders.index": {"roles": {C, E, A}, "url": "/workorders"},
    "workorders.detail": {"roles": {C, E, A}, "url": "/workorders/WO20261128-9999"},
    "workorders.transition": {"roles": {C, E, A}, "url": "/workorders/WO20261128-9999/transition", "method": "post"},
    "workorders.follow_up": {"roles": {C, E, A}, "url": "/workorders/WO20261128-9999/follow-up", "method": "post"},
    "workorders.note": {"roles": {C, E, A}, "url": "/workorders/WO20261128-9999/note", "method": "post"},
    "workorders.waiting": {"roles": {C, E, A}, "url": "/workorders/WO20261128-9999/waiting", "method": "post"},
    "workorders.queue": {"roles": {E, A}, "url": "/handoffs"},
    "workorders.handoff_detail": {"roles": {E, A}, "url": "/handoffs/999"},
    "workorders.handoff_accept": {"roles": {E, A}, "url": "/handoffs/999/accept", "method": "post"},
    "workorders.handoff_message": {"roles": {E, A}, "url": "/handoffs/999/message", "method": "post"},
    "api.workorders_meta": {"roles": {C, E, A}, "url": "/api/v1/workorders/meta"},
    "api.workorders_create": {"roles": {C, E, A}, "url": "/api/v1/workorders", "method": "post"},
    "api.workorders_list": {"roles": {C, E, A}, "url": "/api/v1/workorders"},
    "api.workorders_get": {"roles": {C, E, A}, "url": "/api/v1/workorders/WO20261128-9999"},
    "api.workorders_update": {"roles": {C, E, A}, "url": "/api/v1/workorders/WO20261128-9999", "method": "patch"},
    "api.workorders_transition": {"roles": {C, E, A}, "url": "/api/v1/workorders/WO20261128-9999/transitions", "method": "post"},
    "api.workorders_note": {"roles": {C, E, A}, "url": "/api/v1/workorders/WO20261128-9999/notes", "method": "post"},
    "api.workorders_follow_up": {"roles": {C, E, A}, "url": "/api/v1/workorders/WO20261128-9999/follow-ups", "method": "post"},
    "api.workorders_waiting": {"roles": {C, E, A}, "url": "/api/v1/workorders/WO20261128-9999/waiting", "method": "post"},
    "api.conversation_handoff": {"roles": {C, E, A}, "url": "/api/v1/conversations/999/handoff", "method": "post"},
    "api.handoff_queue": {"roles": {E, A}, "url": "/api/v1/handoffs"},
    "api.handoff_get": {"roles": {C, E, A}, "url": "/api/v1/handoffs/999"},
    "api.handoff_accept": {"roles": {E, A}, "url": "/api/v1/handoffs/999/accept", "method": "post"},
    "api.handoff_messages": {"roles": {E, A}, "url": "/api/v1/handoffs/999/messages", "method": "post"},
    "api.handoff_callback": {"roles": {C, E, A}, "url": "/api/v1/handoffs/999/callback", "method": "post"},
    # --- proof -----------------------------------------------------------------
    "api.openapi": {"roles": PUBLIC, "url": "/api/v1/openapi.json"},
}
