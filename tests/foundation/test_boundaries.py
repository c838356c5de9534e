"""Domain packages import without Flask (the web layer is the only one that knows it)."""

from __future__ import annotations

import subprocess
import sys

DOMAIN_PACKAGES = ["knowledge_base", "workorders", "sandbox.bank", "sandbox.users", "sandbox.drill", "sandbox.exam",
                   "sandbox.scoring", "sandbox.dialogue", "sandbox.interview"]
FRAMEWORK_FREE_MODULES = ["sandbox.db", "sandbox.clock", "sandbox.roles", "sandbox.errors", "sandbox.config",
                          "sandbox.runtime", "sandbox.instance", "sandbox.migrate", "sandbox.meta", "seed_data"]

SCRIPT = """
import importlib, pkgutil, sys
names = {packages!r}
imported = []
for name in names:
    try:
        pkg = importlib.import_module(name)
    except ModuleNotFoundError:
        continue  # a package a later issue adds
    imported.append(name)
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), prefix=name + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
for name in {modules!r}:
    importlib.import_module(name)
    imported.append(name)
bad = sorted(m for m in sys.modules if m == "flask" or m.startswith("flask.") or m.startswith("flask_")
             or m == "werkzeug.routing" or m == "wtforms")
print(len(imported))
assert not bad, bad
"""


def test_domain_code_imports_without_flask():
    script = SCRIPT.format(packages=DOMAIN_PACKAGES, modules=FRAMEWORK_FREE_MODULES)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) >= len(FRAMEWORK_FREE_MODULES) + 3
