"""The operator's console in Chromium (issue 17): a viewer refused an action, people and their roles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from isao.dashboard import admins
from tests.browser.conftest import PASSWORD, Site, log_in, screenshot


@pytest.fixture
def viewer_page(browser: Browser, site: Site) -> Iterator[Page]:
    with site.db.write() as session:
        admins.create(session, site.company_id, "viewer@example.com", PASSWORD, "viewer")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.server.url)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    log_in(tab, "viewer@example.com")
    yield tab
    context.close()


def test_a_viewer_is_refused_an_action(viewer_page: Page, page: Page) -> None:
    """The owner sees the buttons; the viewer sees none, and a form posted anyway is refused."""
    page.goto("/recipes/woocommerce-to-isao")
    expect(page.get_by_role("button", name="Enable recipe")).to_be_visible()

    viewer_page.goto("/recipes/woocommerce-to-isao")
    expect(viewer_page.get_by_role("heading", level=1)).to_be_visible()
    expect(viewer_page.get_by_role("button", name="Enable recipe")).to_have_count(0)
    viewer_page.goto("/settings/users")
    expect(viewer_page.get_by_role("heading", name="Not allowed for your role")).to_be_visible()
    # A form kept from before the role changed, or crafted: the server refuses it all the same.
    token = viewer_page.locator("input[name=csrf_token]").first.input_value()
    refused = viewer_page.request.post(
        "/recipes/woocommerce-to-isao/enable", form={"csrf_token": token, "role-shop": "x"}
    )
    assert refused.status == 403
    assert "Your role, viewer, cannot do this" in refused.text()

    page.goto("/settings/users")
    row = page.get_by_role("row").filter(has_text="viewer@example.com")
    expect(row).to_contain_text("viewer")
    screenshot(page, "users")
    page.goto("/settings/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
