"""Whether the browser tests (marker ``browser``) can run here, and what to do when they cannot.

They drive Debian's Chromium through Playwright. On a machine without it the README's test
command still passes: each browser test is skipped with a one-line reason naming the install
command. ``.ci/run`` sets ``BANKDRILL_REQUIRE_BROWSER=1``; then a missing browser fails the
browser tests instead, so CI can never go green by skipping them.

Tests that need the ``espeak-ng`` program (marker ``espeak``: server-side speech, and the
console playing a voice turn) follow the same gate: skipped without it, failed when
``BANKDRILL_REQUIRE_BROWSER`` is set (``.ci/run`` installs it).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from typing import Literal

INSTALL_COMMAND = "apt-get install chromium fonts-wqy-microhei"
ESPEAK_INSTALL_COMMAND = "apt-get install espeak-ng"
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
    return _gate(missing_browser(executable, playwright_installed), environ, "the browser tests")


def missing_espeak(path: str | None = None) -> str | None:
    """A one-line reason the espeak-ng tests cannot run (``path``: where PATH has espeak-ng), or None."""
    if path is None:
        path = shutil.which("espeak-ng")
    if not path:
        return f"espeak-ng not found on PATH: {ESPEAK_INSTALL_COMMAND}"
    return None


def decide_espeak(environ: Mapping[str, str], path: str | None = None) -> tuple[Literal["run", "skip", "fail"], str | None]:
    """What a test marked ``espeak`` does here: run, skip (with the reason) or fail (in CI)."""
    return _gate(missing_espeak(path), environ, "the espeak-ng tests")


def _gate(reason: str | None, environ: Mapping[str, str],
          what: str) -> tuple[Literal["run", "skip", "fail"], str | None]:
    if reason is None:
        return RUN, None
    if environ.get(REQUIRE_VARIABLE, "").strip() not in ("", "0"):
        return FAIL, f"{REQUIRE_VARIABLE} is set but {what} cannot run. {reason}"
    return SKIP, reason
