"""Browser tests: Debian's Chromium driven by Playwright against a live server in a thread.

Without Chromium they skip (or fail under BANKDRILL_REQUIRE_BROWSER=1): see tests/browser_gate.py.
"""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.browser_gate import chromium_path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # Spoken answers: Chromium's fake microphone (a beeping tone), permission granted.
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 "--autoplay-policy=no-user-gesture-required",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}, "locale": "zh-CN"}


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app):
    """The test's app served on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser_login(app, live_server):
    """``browser_login(page, "candidate")`` logs a page in through the login form."""
    from tests.conftest import ROLE_USER

    def _login(page, role: str):
        username = ROLE_USER.get(role, role)
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", app.config["TEST_PASSWORDS"][username])
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        return page

    return _login
