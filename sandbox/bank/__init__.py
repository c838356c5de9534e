"""The mock core bank: customers, accounts, cards, identity check, masking (no Flask)."""
