"""Mock bank pages: 练习会话 (practice), the customer's phone, the examiner's customer list."""

from __future__ import annotations

from flask import Blueprint, render_template

from sandbox.bank import conversations as conv
from sandbox.bank import identity, lookups
from sandbox.bank.labels import magic_label
from sandbox.roles import STAFF_ROLES
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user, roles_required
from sandbox.web.tx import db, runtime

bp = Blueprint("bank", __name__)
bp.add_app_template_filter(magic_label, "magic_label")


@bp.get("/practice")
@any_user
def practice():
    s = db()
    clock = runtime().clock
    customers = lookups.list_customers(s, clock, include_magic=current_user().role != "candidate")
    mine = [conv.conversation_view(s, clock, c) for c in conv.list_conversations(s, current_user())]
    return render_template("bank/practice.html", customers=customers, conversations=mine)


@bp.get("/practice/<int:conversation_id>")
@any_user
def practice_conversation(conversation_id: int):
    s = db()
    c = conv.get_conversation(s, conversation_id, current_user())
    view = conv.conversation_view(s, runtime().clock, c)
    return render_template("bank/conversation.html", conversation=view,
                           can_see_phone=identity.can_see_phone(c, current_user()))


@bp.get("/practice/<int:conversation_id>/phone")
@any_user
def practice_phone(conversation_id: int):
    s = db()
    c = conv.get_conversation(s, conversation_id, current_user(), watch=True)
    messages = identity.phone_messages(s, c, current_user())
    view = conv.conversation_view(s, runtime().clock, c)
    return render_template("bank/phone.html", conversation=view, messages=messages)


@bp.get("/bank/customers")
@roles_required(*STAFF_ROLES)
def examiner_customers():
    return render_template("bank/examiner_customers.html",
                           customers=lookups.examiner_customers(db(), runtime().clock))


@bp.get("/bank/identity-locks")
@roles_required(*STAFF_ROLES)
def identity_locks():
    """Identity-check lockouts of the last 24 hours: in one conversation, or paused across conversations."""
    return render_template("bank/identity_locks.html", lockouts=identity.recent_lockouts(db(), runtime().clock))
