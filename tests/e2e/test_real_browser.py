"""A real browser through the whole flow: Debian's chromium, driven by Playwright.

carol signs in at the ALB, asks the agent, presses "Authorize", consents at the external
service, comes back through AgentCore's callback and the binder, and sees his answer. The
final page is saved as a screenshot under test-output/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from devstack.demo import REPO_REQUEST

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Debian's chromium by default; CHROMIUM may name another Chromium-based browser (CI on Ubuntu,
# where the chromium package is only a snap wrapper, uses the runner's Google Chrome).
CHROMIUM = shutil.which(os.environ.get("CHROMIUM") or "chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "e2e"
# Without the background-networking flags chromium keeps calling Google's hosts, which this
# closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; `make test` installs it with apt")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_user_signs_in_authorizes_consents_and_gets_the_answer_in_a_real_browser(stack, browser):
    config = stack.config
    user = config.users["carol"]
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)

    page.goto(config.app_url + "/")
    page.fill("#username", "carol")
    page.fill("#password", user["password"])
    page.click("#sign-in")
    if page.locator("#authorize").count() and "consent" in page.url:
        page.click("#authorize")
    page.wait_for_url(f"{config.app_url}/**")

    page.fill("#message", REPO_REQUEST)
    page.click("#send")
    authorize = page.locator("#authorize")
    authorize.wait_for()
    assert "github" in authorize.inner_text().lower()
    authorize.click()

    # The external service's authorization server: carol signs in there too, then consents.
    page.wait_for_selector("#username, #authorize")
    if page.locator("#username").count():
        page.fill("#username", "carol")
        page.fill("#password", user["password"])
        page.click("#sign-in")
    page.click("#authorize")

    # Back through AgentCore's callback and the binder to the agent's page, which re-sends
    # the question it was asked before the detour.
    page.wait_for_url(f"{config.app_url}/?connected=github*")
    answer = page.locator("#log")
    answer.get_by_text("bird-census", exact=False).first.wait_for()

    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "consent-flow-final.png"), full_page=True)
    text = answer.inner_text()
    assert "repositor" in text.lower()
    assert not any(r["name"] in text for r in config.users["alice"]["external"]["repos"])
