"""The mock core bank: customers, accounts, cards, identity check, masking (no Flask).

Entry points for other packages (all take a SQLAlchemy session and never commit; callers
commit also when a ``DomainError`` is raised, because refusals are audited before raising;
on SQLite, start the transaction with ``sandbox.db.begin_write(session)``):

- ``sandbox.bank.conversations``: ``open_conversation(session, clock, user, customer_code,
  channel, drill_id=None)``, ``get_conversation``, ``close_conversation``,
  ``conversation_view``, ``list_conversations``.
- ``sandbox.bank.identity``: ``send_sms``, ``verify`` → ``VerifyResult``, ``is_verified``,
  ``identity_state``, ``require_verified``, ``phone_messages``, ``can_see_phone``.
- ``sandbox.bank.lookups``: ``customer_profile``, ``list_accounts``, ``account_transactions``,
  ``list_cards``, ``card_status``, ``card_bill``, ``freeze``, ``unfreeze``, and for staff
  ``list_customers``, ``examiner_customers``, ``reveal``, ``staff_customers``.
- ``sandbox.bank.audit``: ``record``, ``entries``.
- ``sandbox.bank.masking``: every masking rule (the only place numbers are masked):
  ``mask_*``, ``find_clear_pii`` / ``redact`` (any spelling of a number in free text),
  ``redact_data`` (JSON-like values) and ``Clear`` (a value shown in clear on purpose).
- ``sandbox.bank.seed``: ``load_seed`` / ``seed_bank`` (from ``seed_data/bank/customers.json``).
"""
