"""CRM pages: contacts and deals lists, details, forms, the pipeline board and moving a deal on it."""

from __future__ import annotations

import html
import re
from typing import Any

from isao.crm.pipeline import ordered
from tests.dashboard.conftest import Dashboard

_COLUMN = re.compile(
    r'<section class="column"[^>]*>\s*<h2 id="[^"]+">(.*?) <span class="badge">(\d+)</span></h2>'
)
_TOTALS = re.compile(r'<p class="crm-column-total">(.*?)</p>', re.S)
_CARD = re.compile(r'<h3 id="card-[^"]+"><a href="/crm/deals/([^"]+)"[^>]*>(.*?)</a></h3>')


def contact(dashboard: Dashboard, **fields: Any) -> dict[str, Any]:
    with dashboard.tenant.client() as api:
        response = api.post("/contacts", json=fields)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def deal(dashboard: Dashboard, **fields: Any) -> dict[str, Any]:
    with dashboard.tenant.client() as api:
        response = api.post("/deals", json={"value": 100, **fields})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def api_deal(dashboard: Dashboard, deal_id: str) -> dict[str, Any]:
    with dashboard.tenant.client() as api:
        data: dict[str, Any] = api.get(f"/deals/{deal_id}").json()["data"]
    return data


def board(page: str) -> dict[str, tuple[int, str, list[str]]]:
    """Column title → (count, totals text, card titles), in the board's order."""
    columns: dict[str, tuple[int, str, list[str]]] = {}
    chunks = page.split('<section class="column"')[1:]
    for chunk in chunks:
        head = _COLUMN.match('<section class="column"' + chunk)
        totals = _TOTALS.search(chunk)
        assert head and totals
        text = re.sub(r"<[^>]+>", "", totals.group(1))
        titles = [html.unescape(title) for _, title in _CARD.findall(chunk)]
        columns[html.unescape(head.group(1))] = (int(head.group(2)), html.unescape(text), titles)
    return columns


def test_contacts_list_searches_and_pages(dashboard: Dashboard) -> None:
    ada = contact(
        dashboard, name="Ada Lovelace", email="ada@example.com", currentCompany="Engines", city="London"
    )
    contact(dashboard, name="Grace Hopper", email="grace@example.com", phoneNumber="+14155550100")
    page = dashboard.get("/crm/contacts")
    assert page.status_code == 200
    assert "<h1>Contacts</h1>" in page.text and "2 contacts" in page.text
    assert "Ada Lovelace" in page.text and "Grace Hopper" in page.text and "Engines" in page.text
    found = dashboard.get("/crm/contacts", params={"search": "ENGINES"})
    assert f'href="/crm/contacts/{ada["id"]}"' in found.text and "Grace Hopper" not in found.text
    assert "1 contact matching" in found.text
    by_phone = dashboard.get("/crm/contacts", params={"search": "555"})
    assert "Grace Hopper" in by_phone.text and "Ada Lovelace" not in by_phone.text
    too_long = dashboard.get("/crm/contacts", params={"search": "x" * 201})
    assert too_long.status_code == 400 and 'id="f-search-error"' in too_long.text

    for number in range(24):
        contact(dashboard, name=f"Filler {number:02d}")
    first = dashboard.get("/crm/contacts")
    assert "Page 1 of 2" in first.text and 'href="/crm/contacts?page=2"' in first.text
    second = dashboard.get("/crm/contacts", params={"page": "2"})
    assert "Page 2 of 2" in second.text and second.text.count('<th scope="row">') == 1
    assert "Ada Lovelace" in second.text  # oldest last


def test_contact_detail_lists_their_deals(dashboard: Dashboard) -> None:
    ada = contact(dashboard, name="Ada Lovelace", email="ada@example.com", tags=["vip"])
    deal(dashboard, title="Analytical engine", value=1500, stage="proposal", contactId=ada["id"])
    deal(dashboard, title="Someone else's deal")
    page = dashboard.get(f"/crm/contacts/{ada['id']}")
    assert page.status_code == 200
    assert "<h1>Ada Lovelace</h1>" in page.text and "ada@example.com" in page.text and "vip" in page.text
    assert "Deals (1)" in page.text and "Analytical engine" in page.text and "1,500.00 EUR" in page.text
    assert "Someone else" not in page.text
    assert f'href="/crm/deals/new?contactId={ada["id"]}"' in page.text
    assert dashboard.get("/crm/contacts/contact_unknown").status_code == 404


def test_new_contact_form_creates_and_refuses_bad_input_next_to_the_field(dashboard: Dashboard) -> None:
    form = dashboard.get("/crm/contacts/new")
    assert form.status_code == 200 and 'for="f-email"' in form.text
    created = dashboard.post(
        "/crm/contacts/new",
        {
            "name": "Ada Lovelace",
            "email": "ADA@example.com",
            "phoneNumber": "+44 20 7946 0958",
            "tags": "vip, ai",
        },
    )
    assert created.status_code == 303
    location = created.headers["location"]
    assert location.startswith("/crm/contacts/contact_") and location.endswith("?done=created")
    shown = dashboard.get(location)
    assert (
        "Contact created" in shown.text and "ada@example.com" in shown.text and "+442079460958" in shown.text
    )

    missing = dashboard.post("/crm/contacts/new", {"name": "", "email": "not-an-email"})
    assert missing.status_code == 400
    assert re.search(r'id="f-name-error">Name is required<', missing.text)
    assert re.search(r'id="f-email-error">Email must be a valid email address<', missing.text)
    assert 'value="not-an-email"' in missing.text  # what was typed stays

    existing_id = location.split("/")[-1].split("?")[0]
    duplicate = dashboard.post("/crm/contacts/new", {"name": "Ada again", "email": "ada@example.com"})
    assert duplicate.status_code == 400
    assert re.search(r'id="f-email-error">A contact with this email already exists<', duplicate.text)
    assert f'href="/crm/contacts/{existing_id}"' in duplicate.text
    same_phone = dashboard.post("/crm/contacts/new", {"name": "Ada's phone", "phoneNumber": "+442079460958"})
    assert same_phone.status_code == 400
    assert re.search(
        r'id="f-phoneNumber-error">A contact with this phone number already exists<', same_phone.text
    )
    assert "f-email-error" not in same_phone.text


def test_deals_list_filters_by_status_stage_and_search(dashboard: Dashboard) -> None:
    ada = contact(dashboard, name="Ada Lovelace")
    deal(dashboard, title="Engine parts", stage="proposal", contactId=ada["id"])
    deal(dashboard, title="Punch cards", stage="negotiation")
    deal(dashboard, title="Old order", stage="closed-won", status="won")
    everything = dashboard.get("/crm/deals")
    assert everything.status_code == 200 and "3 deals" in everything.text
    won = dashboard.get("/crm/deals", params={"status": "won"})
    assert "Old order" in won.text and "Punch cards" not in won.text and "1 deal<" in won.text
    proposal = dashboard.get("/crm/deals", params={"stage": "proposal"})
    assert "Engine parts" in proposal.text and "Punch cards" not in proposal.text
    assert '<option value="proposal" selected>' in proposal.text
    by_title = dashboard.get("/crm/deals", params={"search": "punch"})
    assert "Punch cards" in by_title.text and "Engine parts" not in by_title.text
    by_contact_name = dashboard.get("/crm/deals", params={"search": "lovelace"})
    assert "Engine parts" in by_contact_name.text and "Punch cards" not in by_contact_name.text
    of_contact = dashboard.get("/crm/deals", params={"contact": ada["id"]})
    assert "Engine parts" in of_contact.text and "Old order" not in of_contact.text
    bad = dashboard.get("/crm/deals", params={"status": "maybe"})
    assert bad.status_code == 400 and 'id="f-status-error"' in bad.text


def test_new_deal_form_creates_and_names_each_bad_field(
    dashboard: Dashboard, other_dashboard: Dashboard
) -> None:
    ada = contact(dashboard, name="Ada Lovelace")
    form = dashboard.get(f"/crm/deals/new?contactId={ada['id']}")
    assert form.status_code == 200
    assert f'<option value="{ada["id"]}" selected>Ada Lovelace</option>' in form.text
    bad = dashboard.post(
        "/crm/deals/new", {"title": "", "value": "-5", "currency": "EURO", "probability": "150"}
    )
    assert bad.status_code == 400
    assert re.search(r'id="f-title-error">Title is required<', bad.text)
    assert re.search(r'id="f-value-error">Value must be a positive number<', bad.text)
    assert re.search(r'id="f-currency-error">Currency has an invalid format<', bad.text)
    assert re.search(r'id="f-probability-error">Probability must be at most 100<', bad.text)
    assert 'value="-5"' in bad.text

    stranger = contact(other_dashboard, name="Not yours")
    foreign = dashboard.post("/crm/deals/new", {"title": "Sneaky", "value": "1", "contactId": stranger["id"]})
    assert foreign.status_code == 400
    assert re.search(
        r'id="f-contactId-error">Contact not found or does not belong to your company<', foreign.text
    )

    created = dashboard.post(
        "/crm/deals/new",
        {
            "title": "Engine",
            "value": "1234.5",
            "currency": "usd",
            "stage": "proposal",
            "contactId": ada["id"],
        },
    )
    assert created.status_code == 303
    page = dashboard.get(created.headers["location"])
    assert "Deal created" in page.text and "<h1>Engine</h1>" in page.text and "1,234.50 USD" in page.text
    assert f'href="/crm/contacts/{ada["id"]}">Ada Lovelace</a>' in page.text
    assert re.search(r">Created</th>\s*<td>Stage</td><td>—</td><td>proposal</td>", page.text)


def test_board_groups_open_deals_by_stage_with_counts_and_totals(dashboard: Dashboard) -> None:
    ada = contact(dashboard, name="Ada Lovelace")
    deal(dashboard, title="Small", value=50.5, stage="proposal", contactId=ada["id"])
    deal(dashboard, title="Big", value=100, stage="proposal")
    deal(dashboard, title="Dollars", value=10, currency="USD", stage="proposal")
    deal(dashboard, title="Haggling", value=7, stage="negotiation")
    deal(dashboard, title="Custom", value=1, stage="Site visit")
    deal(dashboard, title="First call", value=2, stage="discovery")
    deal(dashboard, title="Done deal", value=999, stage="closed-won", status="won")
    deal(dashboard, title="Gone", value=5, stage="proposal", status="lost")

    page = dashboard.get("/crm/pipeline")
    assert page.status_code == 200 and "<h1>Pipeline</h1>" in page.text
    columns = board(page.text)
    assert list(columns) == ["discovery", "proposal", "negotiation", "Site visit"]
    count, totals, titles = columns["proposal"]
    assert count == 3 and totals == "150.50 EUR · 10.00 USD"
    assert sorted(titles) == ["Big", "Dollars", "Small"]
    assert "Ada Lovelace" in page.text
    assert (
        'aria-live="polite"' in page.text
        and 'label for="move-' in page.text
        and ">Move</button>" in page.text
    )

    with_closed = board(dashboard.get("/crm/pipeline?closed=1").text)
    assert list(with_closed)[-2:] == ["Won", "Lost"]
    assert with_closed["Won"] == (1, "999.00 EUR", ["Done deal"])
    assert with_closed["Lost"] == (1, "5.00 EUR", ["Gone"])


def test_moving_a_card_changes_the_stage_and_the_history_shows_it(dashboard: Dashboard) -> None:
    moving = deal(dashboard, title="Mover", value=300, stage="proposal")
    deal(dashboard, title="Stays", value=1, stage="proposal")

    response = dashboard.post(f"/crm/deals/{moving['id']}/move", {"to": "stage:negotiation", "from": "board"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/crm/pipeline?done=moved&moved={moving['id']}"
    page = dashboard.get(response.headers["location"])
    assert "Moved “Mover” to negotiation" in page.text
    assert board(page.text)["negotiation"] == (1, "300.00 EUR", ["Mover"])
    assert api_deal(dashboard, moving["id"])["stage"] == "negotiation"

    fragment = dashboard.htmx("POST", f"/crm/deals/{moving['id']}/move", {"to": "status:won", "closed": "1"})
    assert fragment.status_code == 200
    assert (
        fragment.text.lstrip().startswith('<div id="board" aria-live="polite">')
        and "<html" not in fragment.text
    )
    assert "Moved “Mover” to Won" in fragment.text
    assert board(fragment.text)["Won"] == (1, "300.00 EUR", ["Mover"])
    assert api_deal(dashboard, moving["id"])["status"] == "won"

    reopened = dashboard.post(
        f"/crm/deals/{moving['id']}/move", {"to": "stage:contract-review", "from": "deal"}
    )
    assert reopened.headers["location"] == f"/crm/deals/{moving['id']}?done=moved"
    history = dashboard.get(reopened.headers["location"]).text
    rows = re.findall(
        r'<th scope="row"[^>]*>([^<]+)</th>\s*<td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>', history
    )
    assert rows == [
        ("Stage changed", "Stage", "negotiation", "contract-review"),
        ("Updated", "Status", "won", "open"),
        ("Won", "Status", "open", "won"),
        ("Stage changed", "Stage", "proposal", "negotiation"),
        ("Created", "Stage", "—", "proposal"),
    ]

    refused = dashboard.post(f"/crm/deals/{moving['id']}/move", {"to": "nowhere"})
    assert refused.status_code == 400 and "Choose a stage" in refused.text
    assert dashboard.post("/crm/deals/deal_unknown/move", {"to": "stage:x"}).status_code == 404


def test_history_lists_other_field_changes(dashboard: Dashboard) -> None:
    made = deal(dashboard, title="Priced", value=100, stage="proposal")
    with dashboard.tenant.client() as api:
        assert api.put(f"/deals/{made['id']}", json={"value": 250, "title": "Repriced"}).status_code == 200
    page = dashboard.get(f"/crm/deals/{made['id']}").text
    assert re.search(r">Updated</th>\s*<td>Title</td><td>Priced</td><td>Repriced</td>", page)
    assert "<td>Value</td><td>100.00</td><td>250.00</td>" in page


def test_another_company_sees_none_of_it(dashboard: Dashboard, other_dashboard: Dashboard) -> None:
    ada = contact(dashboard, name="Ada Lovelace", email="ada@example.com")
    secret = deal(dashboard, title="Secret deal", stage="proposal", contactId=ada["id"])
    assert other_dashboard.get(f"/crm/contacts/{ada['id']}").status_code == 404
    missing = other_dashboard.get(f"/crm/deals/{secret['id']}")
    assert missing.status_code == 404 and "Deal not found" in missing.text and "Secret" not in missing.text
    assert other_dashboard.get(f"/crm/deals?contact={ada['id']}").status_code == 404
    for path in ("/crm/contacts", "/crm/deals", "/crm/pipeline?closed=1", "/crm/deals/new"):
        page = other_dashboard.get(path)
        assert page.status_code == 200 and "Ada Lovelace" not in page.text and "Secret deal" not in page.text
    moved = other_dashboard.post(f"/crm/deals/{secret['id']}/move", {"to": "stage:negotiation"})
    assert moved.status_code == 404
    assert api_deal(dashboard, secret["id"])["stage"] == "proposal"
    # the same email is free in another company
    assert (
        other_dashboard.post("/crm/contacts/new", {"name": "Ada", "email": "ada@example.com"}).status_code
        == 303
    )


def test_stage_columns_follow_a_known_pipeline_then_the_alphabet() -> None:
    stages: set[str | None] = {"negotiation", "Zeta", "Proposal", None, "closed-won", "discovery", "alpha"}
    assert ordered(stages) == ["discovery", "Proposal", "negotiation", "alpha", "Zeta", "closed-won", None]
