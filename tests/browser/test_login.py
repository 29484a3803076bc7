"""Logging in with a keyboard and a real browser; nothing shows before it."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, screenshot


def test_an_anonymous_visitor_lands_on_the_login_form_and_a_wrong_password_is_explained(
    browser: Browser, site: Site
) -> None:
    context = browser.new_context(base_url=site.server.url)
    tab = context.new_page()
    tab.goto("/dead-letters")
    expect(tab).to_have_url(f"{site.server.url}/login?next=%2Fdead-letters")
    expect(tab.get_by_role("heading", name="Log in to ISAO")).to_be_visible()
    screenshot(tab, "login")
    tab.get_by_label("Email").fill(site.email)
    tab.get_by_label("Password").fill("not the password")
    tab.get_by_label("Password").press("Enter")
    expect(tab.get_by_role("alert")).to_contain_text("do not match")
    context.close()


def test_logging_in_goes_to_the_page_asked_for_and_logging_out_ends_it(page: Page, site: Site) -> None:
    page.goto("/activity")
    expect(page.get_by_role("link", name="Activity")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to ISAO")).to_be_visible()
    page.goto("/activity")
    expect(page.get_by_role("heading", name="Log in to ISAO")).to_be_visible()


def test_the_skip_link_is_the_first_stop_of_the_keyboard(page: Page) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
