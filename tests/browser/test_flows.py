"""What an operator does in the dashboard, in Chromium: connect a shop and the CRM, enable a recipe, see an
order arrive in the activity feed and follow its story, replay a dead letter, work the pipeline board,
and do it all at phone width too. Screenshots of each main page (see ``screenshot``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.browser.conftest import Site, screenshot
from tests.conftest import serve
from tests.sandboxes import RunningSandbox

ORDER = {
    "status": "processing",
    "billing": {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"},
    "line_items": [{"product_id": 11, "quantity": 2}],
}


def _add_connection(page: Page, provider: str, name: str, fields: dict[str, str]) -> str:
    """Through the forms, as an operator would; returns the new connection's page URL."""
    page.goto("/connections")
    page.get_by_role("link", name="Add a connection").click()
    page.get_by_label("Provider").select_option(provider)
    page.get_by_role("button", name="Next").click()
    page.locator("#f-name").fill(name)
    for label, value in fields.items():
        page.locator(f"#f-{label}").fill(value)
    page.get_by_role("button", name="Add connection").click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    return page.url


def test_connect_enable_and_watch_an_order_arrive(
    page: Page, site: Site, sandbox_factory: Callable[..., RunningSandbox]
) -> None:
    woo = sandbox_factory("woocommerce")
    credentials = woo.sandbox.credentials()

    page.goto("/connections/new?provider=woocommerce")
    page.get_by_role("button", name="Add connection").click()  # nothing filled in: each field says why
    expect(page.locator("#f-base_url-error")).to_be_visible()
    expect(page.locator("#f-consumer_key-error")).to_be_visible()

    _add_connection(
        page,
        "woocommerce",
        "shop",
        {
            "base_url": woo.url,
            "consumer_key": credentials["consumer_key"],
            "consumer_secret": credentials["consumer_secret"],
            "webhook_secret": "browser-webhook-secret",
        },
    )
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("OK")
    hook_url = page.get_by_label("Webhook URL").input_value()
    page.get_by_role("button", name="Show webhook secret").click()
    secret = page.locator("#webhook-secret-value").input_value()
    assert secret == "browser-webhook-secret"
    screenshot(page, "connection")

    _add_connection(page, "isao", "crm", {"base_url": site.server.api, "api_key": site.token})
    page.goto("/connections")
    expect(page.get_by_role("link", name="shop")).to_be_visible()
    screenshot(page, "connections")

    page.goto("/recipes")
    screenshot(page, "recipes")
    page.get_by_role("link", name="woocommerce-to-isao").click()
    page.get_by_role("button", name="Enable recipe").click()
    expect(page.get_by_role("button", name="Disable recipe")).to_be_visible()
    screenshot(page, "recipe")

    # The shop's side, as its admin would set it up: a webhook to the URL and secret the page showed.
    auth = (credentials["consumer_key"], credentials["consumer_secret"])
    with httpx.Client(base_url=f"{woo.url}/wp-json/wc/v3", auth=auth) as shop:
        hook = {"topic": "order.created", "delivery_url": hook_url, "secret": secret}
        assert shop.post("/webhooks", json=hook).status_code == 201
        order = shop.post("/orders", json=ORDER).json()

    page.goto("/activity")
    feed = page.get_by_role("region", name="Activity feed")
    expect(feed.get_by_role("link", name="order.created")).to_be_visible(timeout=30_000)
    expect(feed.get_by_text("sync.record").first).to_be_visible(timeout=30_000)
    screenshot(page, "activity")
    feed.get_by_role("link", name="order.created").first.click()
    expect(page.get_by_role("heading", name="Event order.created")).to_be_visible()
    expect(page.get_by_text(f'"number": "{order["number"]}"').first).to_be_visible()
    expect(page.get_by_text("Request sent").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("/api/external/deals").first).to_be_visible()
    screenshot(page, "event-story")

    page.goto("/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#total-events")).not_to_have_text("0")
    screenshot(page, "overview")


def _reload_until(page: Page, path: str, seen: Callable[[], bool], seconds: float = 30) -> None:
    """For pages that are not live: load again until the workers' result shows."""
    deadline = time.monotonic() + seconds
    page.goto(path)
    while not seen():
        assert time.monotonic() < deadline, f"{path} never showed what was expected"
        page.wait_for_timeout(300)
        page.goto(path)


class Flaky:
    """A webhook receiver that refuses until told to accept (the operator fixed their endpoint)."""

    def __init__(self) -> None:
        self.accepting = threading.Event()

    async def receive(self, request: Request) -> Response:
        await request.body()
        return Response(status_code=200 if self.accepting.is_set() else 410)


@pytest.fixture
def receiver() -> Iterator[tuple[Flaky, str]]:
    flaky = Flaky()
    with serve(Starlette(routes=[Route("/hook", flaky.receive, methods=["POST"])])) as live:
        yield flaky, f"{live.url}/hook"


def test_replay_a_dead_letter_once_the_receiver_is_fixed(
    page: Page, site: Site, receiver: tuple[Flaky, str]
) -> None:
    flaky, url = receiver
    headers = {"Authorization": f"Bearer {site.token}"}
    with httpx.Client(base_url=site.server.api, headers=headers) as api:
        made = api.post("/webhooks/subscribe", json={"event": "contact.created", "target_url": url})
        assert made.status_code == 201, made.text
        assert api.post("/contacts", json={"name": "Katherine Johnson"}).status_code == 201

    row = page.get_by_role("row").filter(has_text="webhook.deliver")
    _reload_until(page, "/dead-letters", lambda: row.count() > 0)
    screenshot(page, "dead-letters")
    row.get_by_role("link").first.click()
    expect(page.get_by_text("Original payload")).to_be_visible()
    expect(page.get_by_text("Response received")).to_be_visible()
    screenshot(page, "dead-letter")

    flaky.accepting.set()
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("Replayed")
    _reload_until(page, "/dead-letters", lambda: page.get_by_text("No dead letters").count() > 0)


def test_move_a_deal_through_the_pipeline_board(page: Page, site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    with httpx.Client(base_url=site.server.api, headers=headers) as api:
        contact = api.post("/contacts", json={"name": "Ada Lovelace", "email": "ada@example.com"}).json()
        for title, value, stage in (("Analytical Engine", 25000, "proposal"), ("Notes", 900, "discovery")):
            body = {"title": title, "value": value, "stage": stage, "contactId": contact["data"]["id"]}
            assert api.post("/deals", json=body).status_code == 201

    page.goto("/crm/pipeline")
    card = page.get_by_role("article", name="Analytical Engine")
    expect(card).to_be_visible()
    screenshot(page, "pipeline")
    card.get_by_label("Move to stage").select_option(label="negotiation")
    card.get_by_role("button", name="Move").click()
    column = page.get_by_role("region", name="negotiation")
    expect(column.get_by_role("article", name="Analytical Engine")).to_be_visible()

    page.get_by_role("link", name="Analytical Engine").click()
    history = page.get_by_role("table").filter(has_text="Stage")
    expect(history).to_contain_text("proposal")
    expect(history).to_contain_text("negotiation")
    screenshot(page, "deal")
    page.goto("/crm/contacts")
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    screenshot(page, "contacts")


PHONE_PAGES = {
    "/": "overview",
    "/activity": "",
    "/crm/pipeline": "pipeline",
    "/dead-letters": "",
    "/connections": "",
}
"""Each page checked at phone width, and the name of its screenshot (when it has one)."""


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_pages_fit_a_phone(page: Page, path: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
    if PHONE_PAGES[path]:
        screenshot(page, f"phone-{PHONE_PAGES[path]}")
