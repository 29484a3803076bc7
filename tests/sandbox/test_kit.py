"""The sandbox kit's building blocks: id styles, paging styles, forms, the OAuth 2 authority (shared by the
Zoho products' sandboxes), leaky buckets and allotments."""

from __future__ import annotations

import httpx
import pytest

from isao.sandbox import runner, zohoaccounts
from isao.sandbox.kit import forms, ids, limits, paging
from isao.sandbox.kit.oauth2 import Authority, Issued, Refused
from isao.sandbox.store import Store
from tests.conftest import serve

pytestmark = pytest.mark.no_database


def test_id_styles() -> None:
    store = Store()
    assert ids.gid("Order", 450789469) == "gid://shopify/Order/450789469"
    assert ids.gid_parts("gid://shopify/Customer/7") == ("Customer", "7") and ids.gid_parts("7") is None
    assert ids.zoho_long(store, "5843210000000") == "5843210000000100001"
    contact = ids.salesforce_id(store, "003")
    assert len(contact) == 18 and contact.startswith("0035g0")
    # Salesforce's published example: 001A0000006Vm9r → 001A0000006Vm9rIAC
    assert ids.salesforce_suffix("001A0000006Vm9r") == "IAC"
    first, second = ids.stripe_id(store, "cus"), ids.stripe_id(store, "cus")
    assert first.startswith("cus_") and len(first) == 18 and first != second


def test_paging_styles() -> None:
    items = list(range(1, 26))
    page, info = paging.numbered(items, 3, 10)
    assert page == [21, 22, 23, 24, 25] and (info.pages, info.more, info.total) == (3, False, 25)
    assert paging.after_id(items, str, 2, starting_after="5") == ([6, 7], True)
    assert paging.after_id(items, str, 3, ending_before="3") == ([1, 2], False)
    assert paging.after_id(items, str, 3, starting_after="99") is None
    cursor = paging.Cursor.encode({"o": 7})
    assert paging.Cursor.decode(cursor) == {"o": 7} and paging.Cursor.decode("not-ours!") is None
    edges, info_ = paging.connection(items, str, first=2, after="24")
    assert (
        [n for _, n in edges] == [25] and info_["hasNextPage"] is False and info_["hasPreviousPage"] is True
    )
    edges, info_ = paging.connection(items, str, first=2, after=None)
    assert info_["endCursor"] == "2" and info_["hasNextPage"] is True
    locators = paging.Locators()
    locator = locators.hold([1, 2])
    assert locators.take(locator) == [1, 2] and locators.take(locator) is None


def test_forms_nest_brackets() -> None:
    parsed = forms.nested(
        [("metadata[order]", "7"), ("expand[]", "a"), ("expand[]", "b"), ("items[0][price]", "p"), ("x", "1")]
    )
    assert parsed == {"metadata": {"order": "7"}, "expand": ["a", "b"], "items": [{"price": "p"}], "x": "1"}
    with pytest.raises(forms.FormError):
        forms.nested([("a", "1"), ("a[b]", "2")])


def test_authority_caps_refreshes_and_rotates() -> None:
    now = [1000.0]
    capped = Authority(60, clock=lambda: now[0], mint_limit=(2, 600))
    capped.add_client("c", "s")
    capped.add_refresh_token("r", "c", ["Books.read"], fixed=True)
    assert isinstance(capped.refresh("r", "c"), Issued) and isinstance(capped.refresh("r", "c"), Issued)
    assert capped.refresh("r", "c") == Refused("throttled")
    now[0] += 600
    issued = capped.refresh("r", "c")
    assert isinstance(issued, Issued) and capped.check(issued.access_token, "Books.") == "valid"
    assert capped.check(issued.access_token, "Desk.") == "unknown"
    now[0] += 61
    assert capped.check(issued.access_token) == "expired"
    rotating = Authority(60, rotate=True)
    rotating.add_client("c", "s")
    rotating.add_refresh_token("r1", "c")
    renewed = rotating.refresh("r1", "c")
    assert isinstance(renewed, Issued) and renewed.rotated and renewed.refresh_token != "r1"
    assert rotating.refresh("r1", "c") == Refused("invalid_grant")


def test_zoho_products_share_one_accounts_server() -> None:
    shared: dict[str, object] = {}
    first, _ = runner.build("zohocrm", shared=shared)
    second, _ = runner.build("zohocrm", shared=shared)
    assert first.tokens is second.tokens  # type: ignore[attr-defined]
    form = {
        "grant_type": "refresh_token",
        "client_id": zohoaccounts.CLIENT_ID,
        "client_secret": zohoaccounts.CLIENT_SECRET,
        "refresh_token": zohoaccounts.REFRESH_TOKEN,
    }
    with serve(first.app()) as one, serve(second.app()) as other:
        token = httpx.post(f"{one.url}/oauth/v2/token", data=form).json()["access_token"]
        assert (
            "ZohoBooks.fullaccess.all" in httpx.post(f"{one.url}/oauth/v2/token", data=form).json()["scope"]
        )
        answer = httpx.get(f"{other.url}/crm/v4/org", headers={"Authorization": f"Zoho-oauthtoken {token}"})
        assert answer.status_code == 200
        for _ in range(8):
            assert "access_token" in httpx.post(f"{other.url}/oauth/v2/token", data=form).json()
        assert httpx.post(f"{one.url}/oauth/v2/token", data=form).json()["error"] == "Access Denied"


def test_leaky_bucket_and_allotment() -> None:
    now = [0.0]
    bucket = limits.LeakyBucket(40, 2, clock=lambda: now[0])
    assert bucket.take(40) and not bucket.take(1)
    assert bucket.wait_for(1) == pytest.approx(0.5)
    now[0] += 1
    assert bucket.take(2) and bucket.used == pytest.approx(40)
    allotment = limits.Allotment(2, clock=lambda: now[0])
    assert allotment.take() and allotment.take() and not allotment.take()
    now[0] += 86400
    assert allotment.take()
