"""Browser tests: Debian's Chromium driven by Playwright against a live ISAO with in-process workers.

Never a downloaded browser: ``/usr/bin/chromium`` (``make test`` installs the Debian package). The
server runs in this process on a free loopback port with its own database; the provider sandboxes run
beside it. Screenshots go to ``ISAO_SCREENSHOTS`` (``make screenshots`` points it at docs/screenshots)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from isao.api.app import create_app
from isao.config import Settings
from isao.crm import companies, keys
from isao.dashboard import admins
from isao.db import Database
from tests.conftest import LiveServer, fresh_database_url, serve

CHROMIUM = "/usr/bin/chromium"
# As root and offline (shared/reference/machine-notes.md): no sandbox, no GPU, no phoning home.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser tests only"

pytestmark = pytest.mark.no_database


@dataclass
class Site:
    server: LiveServer
    db: Database
    company_id: str
    token: str
    email: str


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """ISAO as `isao serve` runs it: migrations applied, two worker threads, the dashboard at /."""
    data_dir = tmp_path_factory.mktemp("browser")
    settings = Settings(
        data_dir=data_dir,
        database_url=fresh_database_url(data_dir),
        workers=2,
        worker_poll_seconds=0.1,
        retry_base_seconds=0.2,
        job_max_attempts=3,
    )
    app = create_app(settings)
    db: Database = app.state.db
    email = f"ops-{uuid.uuid4().hex[:6]}@example.com"
    with db.write() as session:
        company = companies.create(session, "Browser Shop")
        _, token = keys.create(session, company.id, "browser", list(keys.SCOPES))
        admins.create(session, company.id, email, PASSWORD)
        company_id = company.id
    with serve(app) as live:
        yield Site(live, db, company_id, token, email)
    db.dispose()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A logged-in admin's tab, at the width of a laptop."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.server.url)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    log_in(tab, site.email)
    yield tab
    context.close()


def log_in(tab: Page, email: str, password: str = PASSWORD) -> None:
    tab.goto("/login")
    tab.get_by_label("Email").fill(email)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Log in").click()
    expect(tab.get_by_role("button", name="Log out")).to_be_visible()


def screenshot(tab: Page, name: str) -> None:
    """Saved where ``ISAO_SCREENSHOTS`` says (``make screenshots``), else not at all."""
    folder = os.environ.get("ISAO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(folder) / f"{re.sub(r'[^a-z0-9-]', '-', name)}.png"), full_page=True)
