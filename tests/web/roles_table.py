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
    # --- knowledge base -----------------------------------------------------
    "kb.index": {"roles": ALL, "url": "/kb/?q=挂失"},
    "kb.article": {"roles": ALL, "url": "/kb/articles/no-such-article"},
    "api.kb_search": {"roles": ALL, "url": "/api/v1/kb/search?q=挂失"},
    "api.kb_article": {"roles": ALL, "url": "/api/v1/kb/articles/no-such-article"},
    # --- mock bank ------------------------------------------------------------
    # --- work orders and handoff --------------------------------------------
}
