"""银行智能客服实操演练沙箱 (bankdrill).

This package holds the Flask app and the drill engine. Importing it pulls in no
web framework, so ``import sandbox.bank`` stays usable from plain scripts.
"""

__version__ = "0.1.0"
