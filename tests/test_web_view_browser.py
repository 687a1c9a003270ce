"""The dev server's web view in a real browser: headless Chromium driven by Playwright.

Debian's Chromium (/usr/bin/chromium, installed by .ci/run) is used as it
is; Playwright downloads no browser. Where it is not installed the test is
skipped and says why.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cli_process import CommandProcess, post

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEADLINE_MS = 15_000

if not CHROMIUM.exists():
    pytest.skip(
        f"No browser: {CHROMIUM} is not installed (apt-get install chromium; .ci/run does)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")


@pytest.fixture
def browser_page() -> Iterator[sync_api.Page]:
    with (
        tempfile.TemporaryDirectory(prefix="chromium-") as profile,
        sync_api.sync_playwright() as p,
    ):
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGUMENTS,
        )
        try:
            page = context.new_page()
            page.set_default_timeout(DEADLINE_MS)
            yield page
        finally:
            context.close()


def test_a_waiting_callback_is_completed_through_the_form_and_the_timeline_ends(
    tmp_path: Path, browser_page: sync_api.Page
) -> None:
    arguments = ["dev", "--port", "0", "--db", str(tmp_path / "engine.sqlite3")]
    with CommandProcess(*arguments, "examples.approval:handler") as dev:
        endpoint = dev.wait_for(r"Serving the local engine on (http://127\.0\.0\.1:\d+)").group(1)
        event = json.dumps({"approver_email": "<i>alice</i>@example.com"}).encode()
        for name in ("in-the-browser", "another"):
            status, _ = post(
                f"{endpoint}/functions/approval-handler/executions?{urlencode({'name': name})}",
                event,
            )
            assert status == 201
        dev.wait_for(r"\[approval-handler another\] .*waiting .*Callback")
        page = browser_page
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))

        page.goto(f"{endpoint}/")
        page.select_option("#function", "approval-handler")
        page.select_option("#status", "RUNNING")
        page.click("button:text('Filter')")
        assert page.locator("#executions tbody tr").count() == 2
        page.click("#executions a:text-is('in-the-browser')")
        sync_api.expect(page.locator("#status")).to_have_text("RUNNING")
        sync_api.expect(page.locator("#input")).to_contain_text('"<i>alice</i>@example.com"')
        page.fill("form.succeed textarea[name=result]", '"approved in the browser"')
        page.click("form.succeed button:text('Succeed')")

        sync_api.expect(page.locator("#status")).to_have_text("SUCCEEDED", timeout=DEADLINE_MS)
        sync_api.expect(page.locator("#result")).to_contain_text('\\"approved in the browser\\"')
        rows = page.locator("#timeline tbody tr")
        assert rows.count() == 4
        assert rows.nth(0).locator("td").nth(2).inner_text() == "SUCCEEDED"
        assert (
            rows.nth(2).locator("td").nth(0).inner_text() == "wait-for-approval create callback id"
        )
        assert rows.nth(2).locator("td").nth(2).inner_text() == "SUCCEEDED"
        assert rows.nth(2).locator(".bar.wait").count() == 1
        assert page.locator("form.succeed").count() == 0
        assert dialogs == []

        page.goto(f"{endpoint}/?status=RUNNING")
        assert page.locator("#executions a").all_inner_texts() == ["another"]
