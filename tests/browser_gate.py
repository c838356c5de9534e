"""Whether the browser tests (marker ``browser``) can run here, and what to do when they cannot.

They drive Debian's Chromium through Playwright. On a machine without it the README's test
command still passes: each browser test is skipped with a one-line reason naming the install
command. ``.ci/run`` sets ``BANKDRILL_REQUIRE_BROWSER=1``; then a missing browser fails the
browser tests instead, so CI can never go green by skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from typing import Literal

INSTALL_COMMAND = "apt-get install chromium fonts-wqy-microhei"
REQUIRE_VARIABLE = "BANKDRILL_REQUIRE_BROWSER"
PATH_VARIABLE = "BANKDRILL_CHROMIUM"  # another Chromium binary (and how the gate's own test hides it)
RUN, SKIP, FAIL = "run", "skip", "fail"


def chromium_path() -> str:
    """Debian's Chromium: ``BANKDRILL_CHROMIUM`` if set, else the one on PATH, else its usual place."""
    return os.environ.get(PATH_VARIABLE) or shutil.which("chromium") or "/usr/bin/chromium"


def missing_browser(executable: str, playwright_installed: bool | None = None) -> str | None:
    """A one-line reason the browser tests cannot run with ``executable``, or None if they can."""
    if playwright_installed is None:
        playwright_installed = importlib.util.find_spec("playwright") is not None
    if not playwright_installed:
        return "Playwright is not installed: pip install -e '.[test]'"
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        return f"Debian's Chromium not found at {executable}: {INSTALL_COMMAND}"
    return None


def decide(executable: str, environ: Mapping[str, str],
           playwright_installed: bool | None = None) -> tuple[Literal["run", "skip", "fail"], str | None]:
    """What a browser test does here: run, skip (with the reason) or fail (when CI requires a browser)."""
    reason = missing_browser(executable, playwright_installed)
    if reason is None:
        return RUN, None
    if environ.get(REQUIRE_VARIABLE, "").strip() not in ("", "0"):
        return FAIL, f"{REQUIRE_VARIABLE} is set but the browser tests cannot run. {reason}"
    return SKIP, reason
