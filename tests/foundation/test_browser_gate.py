"""Browser tests skip without Debian's Chromium, and fail instead when CI requires a browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import browser_gate
from tests.browser_gate import FAIL, INSTALL_COMMAND, RUN, SKIP, decide

ROOT = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent/bankdrill/chromium"


def test_a_missing_browser_skips_with_the_install_command():
    action, reason = decide(MISSING, {})
    assert action == SKIP
    assert INSTALL_COMMAND in reason and MISSING in reason and "\n" not in reason


def test_a_missing_browser_fails_when_ci_requires_one():
    action, reason = decide(MISSING, {"BANKDRILL_REQUIRE_BROWSER": "1"})
    assert action == FAIL
    assert "BANKDRILL_REQUIRE_BROWSER" in reason and INSTALL_COMMAND in reason
    assert decide(MISSING, {"BANKDRILL_REQUIRE_BROWSER": "0"})[0] == SKIP


def test_missing_playwright_is_also_a_reason():
    action, reason = decide(sys.executable, {}, playwright_installed=False)
    assert action == SKIP and "pip install" in reason
    assert decide(sys.executable, {"BANKDRILL_REQUIRE_BROWSER": "1"}, playwright_installed=False)[0] == FAIL


def test_a_present_executable_runs(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert decide(str(fake), {"BANKDRILL_REQUIRE_BROWSER": "1"}, playwright_installed=True) == (RUN, None)
    fake.chmod(0o644)  # present but not executable: cannot launch
    assert decide(str(fake), {}, playwright_installed=True)[0] == SKIP


def test_the_path_override_is_read(monkeypatch):
    monkeypatch.setenv(browser_gate.PATH_VARIABLE, MISSING)
    assert browser_gate.chromium_path() == MISSING


def test_a_missing_espeak_ng_skips_locally_and_fails_in_ci(tmp_path):
    action, reason = browser_gate.decide_espeak({}, path="")
    assert action == SKIP and browser_gate.ESPEAK_INSTALL_COMMAND in reason and "\n" not in reason
    action, reason = browser_gate.decide_espeak({"BANKDRILL_REQUIRE_BROWSER": "1"}, path="")
    assert action == FAIL and "BANKDRILL_REQUIRE_BROWSER" in reason and "espeak-ng" in reason
    assert browser_gate.decide_espeak({"BANKDRILL_REQUIRE_BROWSER": "1"}, path="/usr/bin/espeak-ng") == (RUN, None)


def _run_browser_tests(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "BANKDRILL_REQUIRE_BROWSER"}
    environ.update({"BANKDRILL_CHROMIUM": MISSING, "PYTHONPATH": str(ROOT), **env})
    return subprocess.run([sys.executable, "-m", "pytest", "tests/bank/test_panel_browser.py", "-q", "-rsE",
                           "-p", "no:cacheprovider"], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=300)


def test_the_suite_skips_browser_tests_on_a_machine_without_chromium():
    done = _run_browser_tests()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 skipped" in done.stdout
    assert f"Debian's Chromium not found at {MISSING}: {INSTALL_COMMAND}" in done.stdout


def test_ci_fails_browser_tests_on_a_machine_without_chromium():
    done = _run_browser_tests(BANKDRILL_REQUIRE_BROWSER="1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "skipped" not in done.stdout
    assert "2 error" in done.stdout and "BANKDRILL_REQUIRE_BROWSER is set" in done.stdout
