"""The mock bank's seed generator, split along what it builds.

``seed_data/bank/generate.py`` is the command; this package does the work:

- ``basics``: the fixed "as of" date, bank constants, money and date helpers, ``tx``.
- ``tables``: fixed reference tables (wealth products, regions, merchants, card products,
  transaction types and channels).
- ``customers``: loads ``seed_data/bank/customers.yaml`` (the hand-written customer
  specifications) and validates it, naming file:line for every problem.
- ``debit``: a debit account's transactions from its profile, and its running balance.
- ``cards``: a credit card's bill, instalments and recent transactions.
- ``identities``: ID numbers, card and account numbers, phone numbers, addresses.
- ``assemble``: one customer from its specification, the whole data set, its JSON text.
- ``verify``: the self-check of a generated data set (``--check``), one named check per rule.

Check digits (Luhn, GB 11643) and name masking come from ``sandbox.bank.masking``, the one
definition the application checks against.
"""
