"""The HubSpot sandbox driven by HubSpot's official Python SDK (``hubspot-api-client``) over real HTTP, and
its answers checked against HubSpot's published OpenAPI documents."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hubspot import HubSpot, oauth, webhooks  # type: ignore[import-untyped]
from hubspot.crm import associations, contacts, deals, line_items  # type: ignore[import-untyped]
from hubspot.utils.signature import Signature  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from urllib3.util.retry import Retry

from isao.sandbox.hubspot import HubSpotSandbox
from tests.conftest import serve
from tests.sandboxes import RunningSandbox

pytestmark = pytest.mark.no_database

SPECS = Path(__file__).resolve().parents[1] / "specs" / "hubspot"
"""HubSpot's published OpenAPI documents (``tests/specs``)."""


@pytest.fixture
def hs(sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    return sandbox_factory("hubspot")


def client(running: RunningSandbox, token: str | None = None, **config: Any) -> Any:
    """The SDK pointed at the sandbox: every API package reads ``host`` from the client's config."""
    return HubSpot(
        access_token=token or running.sandbox.credentials()["access_token"], host=running.url, **config
    )


def new_contact(api: Any, **properties: str) -> Any:
    return api.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=contacts.SimplePublicObjectInputForCreate(properties=properties)
    )


def error_body(exc: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


# --- objects ------------------------------------------------------------------------------------------


def test_contacts_create_page_get_update_archive(hs: RunningSandbox) -> None:
    api = client(hs)
    created = [new_contact(api, email=f"user{i}@example.com", firstname=f"User{i}") for i in range(5)]
    first = created[0]
    assert first.id.isdigit() and first.archived is False
    assert first.properties["email"] == "user0@example.com"
    assert first.properties["hs_object_id"] == first.id
    assert first.properties["createdate"].endswith("Z") and "." in first.properties["createdate"]
    assert first.properties["lastmodifieddate"] == first.properties["createdate"]

    page = api.crm.contacts.basic_api.get_page(limit=2, properties=["email"])
    assert [c.id for c in page.results] == [c.id for c in created[:2]]
    assert page.paging.next.after and page.paging.next.link.startswith(hs.url)
    second = api.crm.contacts.basic_api.get_page(limit=2, after=page.paging.next.after)
    assert [c.id for c in second.results] == [c.id for c in created[2:4]]
    everything = api.crm.contacts.get_all()
    assert [c.id for c in everything] == [c.id for c in created]
    last = api.crm.contacts.basic_api.get_page(limit=10)
    assert last.paging is None  # HubSpot leaves out ``paging`` on the last page

    by_id = api.crm.contacts.basic_api.get_by_id(first.id, properties=["firstname", "phone"])
    assert by_id.properties["firstname"] == "User0" and by_id.properties["phone"] is None
    by_email = api.crm.contacts.basic_api.get_by_id("USER1@example.com", id_property="email")
    assert by_email.id == created[1].id

    time.sleep(0.002)  # a later millisecond, so the modified date visibly moves
    updated = api.crm.contacts.basic_api.update(
        first.id,
        simple_public_object_input=contacts.SimplePublicObjectInput(properties={"lastname": "Lovelace"}),
    )
    assert updated.properties["lastname"] == "Lovelace"
    assert updated.updated_at > first.updated_at
    assert updated.properties["lastmodifieddate"] > first.properties["lastmodifieddate"]

    api.crm.contacts.basic_api.archive(first.id)
    with pytest.raises(contacts.ApiException) as missing:
        api.crm.contacts.basic_api.get_by_id(first.id)
    assert missing.value.status == 404
    assert error_body(missing.value)["category"] == "OBJECT_NOT_FOUND"
    archived = api.crm.contacts.basic_api.get_page(archived=True)
    assert [c.id for c in archived.results] == [first.id] and archived.results[0].archived is True


def test_duplicate_email_is_409_with_the_existing_id(hs: RunningSandbox) -> None:
    api = client(hs)
    original = new_contact(api, email="ada@example.com")
    with pytest.raises(contacts.ApiException) as caught:
        new_contact(api, email="Ada@Example.com", firstname="Ada")
    assert caught.value.status == 409
    body = error_body(caught.value)
    assert body["category"] == "CONFLICT" and body["status"] == "error" and body["correlationId"]
    assert body["message"] == f"Contact already exists. Existing ID: {original.id}"


def test_invalid_properties_are_400_naming_each_one(hs: RunningSandbox) -> None:
    api = client(hs)
    with pytest.raises(contacts.ApiException) as caught:
        new_contact(api, email="not-an-email", favourite_colour="blue", lifecyclestage="royalty")
    assert caught.value.status == 400
    body = error_body(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    listed = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert {(item["name"], item["error"]) for item in listed} == {
        ("email", "INVALID_EMAIL"),
        ("favourite_colour", "PROPERTY_DOESNT_EXIST"),
        ("lifecyclestage", "INVALID_OPTION"),
    }
    assert api.crm.contacts.basic_api.get_page().results == []


def test_deal_stage_must_belong_to_its_pipeline(hs: RunningSandbox) -> None:
    api = client(hs)
    pipelines = api.crm.pipelines.pipelines_api.get_all(object_type="deals").results
    default = next(p for p in pipelines if p.id == "default")
    stages = {stage.id: stage for stage in default.stages}
    assert next(iter(stages)) == "appointmentscheduled" and {"closedwon", "closedlost"} <= set(stages)
    assert stages["closedwon"].metadata == {"isClosed": "true", "probability": "1.0"}
    assert stages["qualifiedtobuy"].metadata["isClosed"] == "false"

    deal = api.crm.deals.basic_api.create(
        simple_public_object_input_for_create=deals.SimplePublicObjectInputForCreate(
            properties={"dealname": "Big one", "amount": "1200.50", "dealstage": "qualifiedtobuy"}
        )
    )
    assert deal.properties["pipeline"] == "default"  # HubSpot files a deal without one in the default
    assert deal.properties["hs_lastmodifieddate"] == deal.properties["createdate"]
    with pytest.raises(deals.ApiException) as caught:
        api.crm.deals.basic_api.update(
            deal.id, simple_public_object_input=deals.SimplePublicObjectInput(properties={"dealstage": "won"})
        )
    assert caught.value.status == 400
    assert '"name":"dealstage"' in error_body(caught.value)["message"]


def test_search_filters_sorts_and_pages(hs: RunningSandbox) -> None:
    api = client(hs)
    for i, (first, company) in enumerate([("Ada", "Analytical"), ("Grace", "Navy"), ("Alan", "Bletchley")]):
        new_contact(api, email=f"p{i}@example.com", firstname=first, company=company)
    request = contacts.PublicObjectSearchRequest(
        filter_groups=[
            contacts.FilterGroup(
                filters=[contacts.Filter(property_name="firstname", operator="EQ", value="ada")]
            ),
            contacts.FilterGroup(
                filters=[
                    contacts.Filter(property_name="email", operator="CONTAINS_TOKEN", value="*2@example.com")
                ]
            ),
        ],
        sorts=[{"propertyName": "firstname", "direction": "DESCENDING"}],
        properties=["firstname", "company"],
        limit=1,
    )
    found = api.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert found.total == 2
    assert [r.properties["firstname"] for r in found.results] == ["Alan"]
    assert found.results[0].properties["company"] == "Bletchley"
    request.after = found.paging.next.after
    rest = api.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert [r.properties["firstname"] for r in rest.results] == ["Ada"] and rest.paging is None

    since = contacts.PublicObjectSearchRequest(
        filter_groups=[
            contacts.FilterGroup(
                filters=[contacts.Filter(property_name="lastmodifieddate", operator="GTE", value="0")]
            )
        ],
        sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        limit=200,
    )
    assert api.crm.contacts.search_api.do_search(public_object_search_request=since).total == 3
    with pytest.raises(contacts.ApiException) as ceiling:
        since.after = "10000"
        api.crm.contacts.search_api.do_search(public_object_search_request=since)
    assert ceiling.value.status == 400 and error_body(ceiling.value)["category"] == "VALIDATION_ERROR"


def test_batch_create_upsert_read_and_the_100_limit(hs: RunningSandbox) -> None:
    api = client(hs)
    batch = api.crm.contacts.batch_api
    created = batch.create(
        batch_input_simple_public_object_batch_input_for_create=contacts.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                contacts.SimplePublicObjectBatchInputForCreate(properties={"email": f"b{i}@example.com"})
                for i in range(3)
            ]
        )
    )
    assert created.status == "COMPLETE" and len(created.results) == 3
    existing_id = next(r.id for r in created.results if r.properties["email"] == "b0@example.com")

    upserted = batch.upsert(
        batch_input_simple_public_object_batch_input_upsert=contacts.BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                contacts.SimplePublicObjectBatchInputUpsert(
                    id_property="email", id="b0@example.com", properties={"firstname": "Zero"}
                ),
                contacts.SimplePublicObjectBatchInputUpsert(
                    id_property="email", id="new@example.com", properties={"firstname": "New"}
                ),
            ]
        )
    )
    outcome = {r.properties["email"]: (r.id, r.new) for r in upserted.results}
    assert outcome["b0@example.com"] == (existing_id, False)
    assert outcome["new@example.com"][1] is True

    read = batch.read(
        batch_read_input_simple_public_object_id=contacts.BatchReadInputSimplePublicObjectId(
            inputs=[contacts.SimplePublicObjectId(id=existing_id), contacts.SimplePublicObjectId(id="999")],
            properties=["firstname"],
            properties_with_history=[],
        )
    )
    assert [r.properties["firstname"] for r in read.results] == ["Zero"]
    assert read.num_errors == 1 and read.errors[0].category == "OBJECT_NOT_FOUND"
    assert read.errors[0].context == {"ids": ["999"]}

    too_many = contacts.BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[contacts.SimplePublicObjectBatchInputForCreate(properties={}) for _ in range(101)]
    )
    with pytest.raises(contacts.ApiException) as caught:
        batch.create(batch_input_simple_public_object_batch_input_for_create=too_many)
    assert caught.value.status == 400 and error_body(caught.value)["category"] == "VALIDATION_ERROR"


def test_batch_create_is_all_or_nothing_unless_traced(hs: RunningSandbox) -> None:
    api = client(hs)
    new_contact(api, email="taken@example.com")
    batch = api.crm.contacts.batch_api

    def attempt(traced: bool) -> Any:
        inputs = [
            contacts.SimplePublicObjectBatchInputForCreate(
                properties={"email": email}, object_write_trace_id=str(i) if traced else None
            )
            for i, email in enumerate(["fresh@example.com", "taken@example.com"])
        ]
        return batch.create_with_http_info(
            batch_input_simple_public_object_batch_input_for_create=(
                contacts.BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
            )
        )

    with pytest.raises(contacts.ApiException) as caught:
        attempt(traced=False)
    assert caught.value.status == 409
    assert api.crm.contacts.basic_api.get_page().results[0].properties["email"] == "taken@example.com"
    assert len(api.crm.contacts.basic_api.get_page().results) == 1  # the fresh one was rolled back

    data, status, _ = attempt(traced=True)
    assert status == 207
    assert [r.object_write_trace_id for r in data.results] == ["0"]
    assert data.errors[0].category == "CONFLICT" and data.errors[0].context["objectWriteTraceId"] == ["1"]


def test_associations_in_create_bodies_and_v4(hs: RunningSandbox) -> None:
    api = client(hs)
    contact = new_contact(api, email="buyer@example.com")
    deal = api.crm.deals.basic_api.create(
        simple_public_object_input_for_create=deals.SimplePublicObjectInputForCreate(
            properties={"dealname": "With buyer", "dealstage": "appointmentscheduled", "pipeline": "default"},
            associations=[
                deals.PublicAssociationsForObject(
                    to=deals.PublicObjectId(id=contact.id),
                    types=[
                        deals.AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=3)
                    ],
                )
            ],
        )
    )
    v4 = api.crm.associations.v4
    from_contact = v4.basic_api.get_page("contacts", contact.id, "deals")
    assert [(a.to_object_id, a.association_types[0].type_id) for a in from_contact.results] == [(deal.id, 4)]

    item = api.crm.line_items.basic_api.create(
        simple_public_object_input_for_create=line_items.SimplePublicObjectInputForCreate(
            properties={"name": "Widget", "quantity": "3", "price": "2.5"}
        )
    )
    assert item.properties["amount"] == "7.5"  # HubSpot computes the net price
    linked = v4.basic_api.create_default("line_items", item.id, "deals", deal.id)
    assert {(r._from.id, r.to.id, r.association_spec.association_type_id) for r in linked.results} == {
        (item.id, deal.id, 20),
        (deal.id, item.id, 19),
    }
    read = v4.batch_api.get_page(
        "deals",
        "line_items",
        batch_input_public_fetch_associations_batch_request=associations.v4.BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[associations.v4.PublicFetchAssociationsBatchRequest(id=deal.id)]
        ),
    )
    assert [(r._from.id, [t.to_object_id for t in r.to]) for r in read.results] == [(deal.id, [item.id])]
    with_links = api.crm.deals.basic_api.get_by_id(deal.id, associations=["contacts", "line_items"])
    assert with_links.associations["contacts"].results[0].id == contact.id
    with pytest.raises(associations.v4.ApiException) as caught:
        v4.basic_api.create_default("contacts", contact.id, "line_items", item.id)
    assert caught.value.status == 400


def test_properties_api_lists_defaults_and_takes_custom_ones(hs: RunningSandbox) -> None:
    api = client(hs)
    listed = {p.name: p for p in api.crm.properties.core_api.get_all(object_type="contacts").results}
    assert {"email", "firstname", "lastname", "phone", "lifecyclestage", "lastmodifieddate"} <= set(listed)
    assert listed["email"].has_unique_value is True
    response = httpx.post(
        f"{hs.url}/crm/v3/properties/contacts",
        headers={"Authorization": f"Bearer {hs.sandbox.credentials()['access_token']}"},
        json={"name": "loyalty_id", "label": "Loyalty ID", "type": "string", "fieldType": "text",
              "groupName": "contactinformation", "hasUniqueValue": True},
    )  # fmt: skip
    assert response.status_code == 201
    holder = new_contact(api, loyalty_id="L-1")
    assert api.crm.contacts.basic_api.get_by_id("L-1", id_property="loyalty_id").id == holder.id


# --- auth, limits, faults ----------------------------------------------------------------------------


def test_oauth_refresh_then_expiry(hs: RunningSandbox) -> None:
    creds = hs.sandbox.credentials()
    tokens = HubSpot(host=hs.url).oauth.tokens_api.create(
        grant_type="refresh_token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
    )
    assert tokens.token_type == "bearer" and tokens.expires_in == 1800
    assert tokens.refresh_token == creds["refresh_token"]
    api = client(hs, tokens.access_token)
    new_contact(api, email="oauth@example.com")

    hs.sandbox.tokens.expire_all()  # type: ignore[attr-defined]
    with pytest.raises(contacts.ApiException) as caught:
        api.crm.contacts.basic_api.get_page()
    assert caught.value.status == 401
    body = error_body(caught.value)
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"].startswith("The OAuth token used to make this call expired")

    with pytest.raises(oauth.ApiException) as bad:
        HubSpot(host=hs.url).oauth.tokens_api.create(
            grant_type="refresh_token",
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            refresh_token="na1-not-a-token",
        )
    assert bad.value.status == 400 and error_body(bad.value)["status"] == "BAD_REFRESH_TOKEN"

    with pytest.raises(contacts.ApiException) as unknown:
        client(hs, "CNnot-issued").crm.contacts.basic_api.get_page()
    assert unknown.value.status == 401 and error_body(unknown.value)["category"] == "INVALID_AUTHENTICATION"


def test_oauth_token_lifetime_follows_the_fault_knob(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    hs = sandbox_factory("hubspot", token_ttl=1)
    creds = hs.sandbox.credentials()
    tokens = HubSpot(host=hs.url).oauth.tokens_api.create(
        grant_type="refresh_token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
    )
    assert tokens.expires_in == 1
    time.sleep(1.05)
    with pytest.raises(contacts.ApiException) as caught:
        client(hs, tokens.access_token).crm.contacts.basic_api.get_page()
    assert error_body(caught.value)["category"] == "EXPIRED_AUTHENTICATION"


def test_authorization_code_grant_through_the_consent_redirect(hs: RunningSandbox) -> None:
    creds = hs.sandbox.credentials()
    redirect = "http://127.0.0.1:9/oauth/callback"
    consent = httpx.get(
        f"{hs.url}/oauth/authorize",
        params={"client_id": creds["client_id"], "redirect_uri": redirect, "scope": "oauth", "state": "s1"},
    )
    assert consent.status_code == 302
    location = httpx.URL(consent.headers["location"])
    assert str(location).startswith(redirect) and location.params["state"] == "s1"
    tokens_api = HubSpot(host=hs.url).oauth.tokens_api
    grant = {
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "redirect_uri": redirect,
    }
    tokens = tokens_api.create(grant_type="authorization_code", code=location.params["code"], **grant)
    assert tokens.refresh_token != creds["refresh_token"]
    new_contact(client(hs, tokens.access_token), email="installed@example.com")
    with pytest.raises(oauth.ApiException) as reused:
        tokens_api.create(grant_type="authorization_code", code=location.params["code"], **grant)
    assert error_body(reused.value)["status"] == "BAD_AUTH_CODE"
    refreshed = tokens_api.create(
        grant_type="refresh_token",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=tokens.refresh_token,
    )
    assert refreshed.access_token != tokens.access_token


def test_records_and_tokens_outlive_a_restart_and_a_reset_keeps_sessions(tmp_path: Path) -> None:
    store = tmp_path / "sandbox-hubspot.sqlite3"
    first = HubSpotSandbox(store_path=store)
    with serve(first.app()) as live:
        first.base_url = live.url
        running = RunningSandbox(first, live.url)
        creds = first.credentials()
        access = (
            HubSpot(host=live.url)
            .oauth.tokens_api.create(
                grant_type="refresh_token",
                client_id=creds["client_id"],
                client_secret=creds["client_secret"],
                refresh_token=creds["refresh_token"],
            )
            .access_token
        )
        kept = new_contact(client(running, access), email="kept@example.com")
    second = HubSpotSandbox(store_path=store)
    with serve(second.app()) as live:
        second.base_url = live.url
        api = client(RunningSandbox(second, live.url), access)  # the OAuth token is still known
        assert api.crm.contacts.basic_api.get_by_id("kept@example.com", id_property="email").id == kept.id
        with pytest.raises(contacts.ApiException) as duplicate:
            new_contact(api, email="kept@example.com")
        assert duplicate.value.status == 409
        assert httpx.post(f"{live.url}/_sandbox/reset").status_code == 200
        assert api.crm.contacts.basic_api.get_page().results == []
        assert [p.id for p in api.crm.pipelines.pipelines_api.get_all(object_type="deals").results] == [
            "default"
        ]


def test_rate_limit_headers_and_429(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    hs = sandbox_factory("hubspot", rate_limit=2, rate_window=10)
    # urllib3 under the SDK would wait out Retry-After and try again; no retries, to see the 429 itself.
    api = client(hs, retry=Retry(total=0))
    _, status, headers = api.crm.contacts.basic_api.get_page_with_http_info()
    assert status == 200
    assert headers["X-HubSpot-RateLimit-Max"] == "2" and headers["X-HubSpot-RateLimit-Remaining"] == "1"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) < int(headers["X-HubSpot-RateLimit-Daily"])
    api.crm.contacts.basic_api.get_page()
    with pytest.raises(contacts.ApiException) as caught:
        api.crm.contacts.basic_api.get_page()
    assert caught.value.status == 429
    body = error_body(caught.value)
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 10
    assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"

    hs.faults(retry_after=False)  # new settings open a new window
    api.crm.contacts.basic_api.get_page()
    api.crm.contacts.basic_api.get_page()
    with pytest.raises(contacts.ApiException) as without:
        api.crm.contacts.basic_api.get_page()
    assert without.value.status == 429 and "Retry-After" not in without.value.headers


def test_search_has_its_own_ceiling(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    hs = sandbox_factory("hubspot", search_rate_limit=1)
    api = client(hs)
    request = contacts.PublicObjectSearchRequest(filter_groups=[], limit=10)
    api.crm.contacts.search_api.do_search(public_object_search_request=request)
    with pytest.raises(contacts.ApiException) as caught:
        api.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert caught.value.status == 429 and error_body(caught.value)["policyName"] == "SECONDLY"
    api.crm.contacts.basic_api.get_page()  # other endpoints are not held back


def test_injected_5xx_and_stall(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    hs = sandbox_factory("hubspot", error_rate=1.0)
    with pytest.raises(contacts.ApiException) as caught:
        client(hs).crm.contacts.basic_api.get_page()
    assert caught.value.status == 500 and error_body(caught.value)["correlationId"]
    hs.faults(error_rate=0.0, timeout_rate=1.0, timeout_seconds=0.05)
    with pytest.raises(contacts.ApiException) as stalled:
        client(hs).crm.contacts.basic_api.get_page()
    assert stalled.value.status == 504


def test_raw_http_errors_are_hubspot_json(hs: RunningSandbox) -> None:
    auth = {"Authorization": f"Bearer {hs.sandbox.credentials()['access_token']}"}
    bad_json = httpx.post(f"{hs.url}/crm/v3/objects/contacts", content=b"{nope", headers=auth)
    assert bad_json.status_code == 400 and bad_json.json()["message"].startswith(
        "Invalid input JSON on line 1"
    )
    unknown = httpx.get(f"{hs.url}/crm/v3/objects/widgets", headers=auth)
    assert (
        unknown.status_code == 400
        and unknown.json()["message"] == "Unable to infer object type from: widgets"
    )
    nowhere = httpx.get(f"{hs.url}/crm/v9/nowhere", headers=auth)
    assert nowhere.status_code == 404 and nowhere.json()["status"] == "error"
    anonymous = httpx.get(f"{hs.url}/crm/v3/objects/contacts")
    assert anonymous.status_code == 401 and anonymous.json()["category"] == "INVALID_AUTHENTICATION"


# --- webhooks ---------------------------------------------------------------------------------------


class Receiver:
    """A local endpoint that records HubSpot's deliveries; answers ``statuses`` in turn, then 204."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        self.arrived = threading.Condition()

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self.arrived:
            self.received.append((dict(request.headers), body))
            self.arrived.notify_all()
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)

    def wait(self, count: int, timeout: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., tuple[Receiver, str]]]:
    managers: list[Any] = []

    def start(statuses: list[int] | None = None) -> tuple[Receiver, str]:
        receiver = Receiver(statuses)
        manager = serve(Starlette(routes=[Route("/hooks/hubspot", receiver.endpoint, methods=["POST"])]))
        managers.append(manager)
        return receiver, manager.__enter__().url + "/hooks/hubspot"

    yield start
    for manager in reversed(managers):
        manager.__exit__(None, None, None)


def subscribe(hs: RunningSandbox, target: str, *kinds: tuple[str, str | None]) -> None:
    creds = hs.sandbox.credentials()
    developer = HubSpot(api_key=creds["developer_api_key"], host=hs.url).webhooks
    app_id = int(creds["app_id"])
    settings = developer.settings_api.configure(
        app_id,
        settings_change_request=webhooks.SettingsChangeRequest(
            target_url=target, throttling=webhooks.ThrottlingSettings(max_concurrent_requests=10)
        ),
    )
    assert settings.target_url == target
    for event_type, property_name in kinds:
        created = developer.subscriptions_api.create(
            app_id,
            subscription_create_request=webhooks.SubscriptionCreateRequest(
                event_type=event_type, property_name=property_name, active=True
            ),
        )
        assert created.active is True and created.event_type == event_type
    listed = developer.subscriptions_api.get_all(app_id).results
    assert {(s.event_type, s.property_name) for s in listed} == set(kinds)


def test_webhook_batch_is_v3_signed_and_names_the_integration(
    hs: RunningSandbox, receiver_factory: Callable[..., tuple[Receiver, str]]
) -> None:
    receiver, target = receiver_factory()
    subscribe(hs, target, ("contact.creation", None), ("contact.propertyChange", "firstname"))
    contact = new_contact(client(hs), email="hook@example.com", firstname="Hook")

    [(headers, body)] = receiver.wait(1)
    creds = hs.sandbox.credentials()
    assert Signature.is_valid(
        signature=headers["x-hubspot-signature-v3"],
        client_secret=creds["client_secret"],
        request_body=body.decode(),
        http_uri=target,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["x-hubspot-request-timestamp"],
    )
    assert Signature.is_valid(
        signature=headers["x-hubspot-signature"],
        client_secret=creds["client_secret"],
        request_body=body.decode(),
        signature_version="v1",
    )
    assert not Signature.is_valid(
        signature=headers["x-hubspot-signature-v3"],
        client_secret="wrong-secret",
        request_body=body.decode(),
        http_uri=target,
        signature_version="v3",
        timestamp=headers["x-hubspot-request-timestamp"],
    )
    events = json.loads(body)
    assert {e["subscriptionType"] for e in events} == {
        "contact.creation",
        "contact.propertyChange",
    }  # one batch
    for event in events:
        assert event["objectId"] == int(contact.id) and event["attemptNumber"] == 0
        assert event["portalId"] == int(creds["portal_id"]) and event["appId"] == int(creds["app_id"])
        assert event["changeSource"] == "INTEGRATION" and event["sourceId"] == creds["app_id"]
        assert isinstance(event["eventId"], int) and abs(event["occurredAt"] - time.time() * 1000) < 60_000
    change = next(e for e in events if e["subscriptionType"] == "contact.propertyChange")
    assert (change["propertyName"], change["propertyValue"]) == ("firstname", "Hook")


def test_failed_delivery_is_retried_with_the_next_attempt_number(
    hs: RunningSandbox, receiver_factory: Callable[..., tuple[Receiver, str]]
) -> None:
    assert isinstance(hs.sandbox, HubSpotSandbox)
    hs.sandbox.webhook_backoff_seconds = 0.05
    receiver, target = receiver_factory(statuses=[503])
    subscribe(hs, target, ("contact.deletion", None))
    api = client(hs)
    contact = new_contact(api, email="gone@example.com")
    api.crm.contacts.basic_api.archive(contact.id)
    first, second = receiver.wait(2)
    assert [json.loads(body)[0]["attemptNumber"] for _, body in (first, second)] == [0, 1]
    assert json.loads(second[1])[0]["eventId"] == json.loads(first[1])[0]["eventId"]
    assert json.loads(second[1])[0]["changeFlag"] == "DELETED"
    deadline = time.monotonic() + 5
    while sum(1 for d in hs.deliveries() if d["ok"]) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [d["status"] for d in hs.deliveries()] == [503, 204]


def test_webhooks_api_wants_the_developer_key(hs: RunningSandbox) -> None:
    developer = HubSpot(api_key="wrong", host=hs.url).webhooks
    with pytest.raises(webhooks.ApiException) as caught:
        developer.subscriptions_api.get_all(int(hs.sandbox.credentials()["app_id"]))
    assert caught.value.status == 401


# --- the published OpenAPI documents ------------------------------------------------------------------


# HubSpot's documents leave out ``nullable`` where HubSpot answers ``null``: a requested property that has
# no value, and the label of an unlabelled (HubSpot-defined) association. The SDK types both as optional.
NULLABLE = {
    "SimplePublicObject": "properties",
    "SimplePublicObjectWithAssociations": "properties",
    "SimplePublicUpsertObject": "properties",
    "AssociationSpecWithLabel": "label",
}


def spec_validator(document: str, schema: str) -> Any:
    components = json.loads((SPECS / document).read_text())["components"]
    for name, field in NULLABLE.items():
        fields = components["schemas"].get(name, {}).get("properties", {})
        if field == "properties" and field in fields:
            fields[field]["additionalProperties"] = {"type": ["string", "null"]}
        elif field in fields:
            fields[field]["type"] = [fields[field]["type"], "null"]
    return jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{schema}", "components": components})


def test_answers_match_the_published_schemas(hs: RunningSandbox) -> None:
    token = hs.sandbox.credentials()["access_token"]
    http = httpx.Client(base_url=hs.url, headers={"Authorization": f"Bearer {token}"})
    contact = http.post("/crm/v3/objects/contacts", json={"properties": {"email": "s@example.com"}})
    deal = http.post(
        "/crm/v3/objects/deals", json={"properties": {"dealname": "S", "dealstage": "closedwon"}}
    )
    contact_id, deal_id = contact.json()["id"], deal.json()["id"]
    upsert = {"inputs": [{"idProperty": "email", "id": "u@example.com", "properties": {}}]}
    checks = [
        ("contacts.json", "SimplePublicObject", contact),
        ("contacts.json", "SimplePublicObjectWithAssociations",
         http.get(f"/crm/v3/objects/contacts/{contact_id}?properties=phone")),
        ("contacts.json", "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
         http.get("/crm/v3/objects/contacts")),
        ("contacts.json", "CollectionResponseWithTotalSimplePublicObject",
         http.post("/crm/v3/objects/contacts/search", json={})),
        ("contacts.json", "BatchResponseSimplePublicUpsertObject",
         http.post("/crm/v3/objects/contacts/batch/upsert", json=upsert)),
        ("contacts.json", "BatchResponseSimplePublicObjectWithErrors",
         http.post("/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": "1"}], "properties": []})),
        ("contacts.json", "Error",
         http.post("/crm/v3/objects/contacts", json={"properties": {"email": "s@example.com"}})),
        ("deals.json", "SimplePublicObject", deal),
        ("pipelines.json", "CollectionResponsePipelineNoPaging", http.get("/crm/v3/pipelines/deals")),
        ("associations.json", "BatchResponsePublicDefaultAssociation",
         http.put(f"/crm/v4/objects/deals/{deal_id}/associations/default/contacts/{contact_id}")),
        ("associations.json", "CollectionResponseMultiAssociatedObjectWithLabelForwardPaging",
         http.get(f"/crm/v4/objects/deals/{deal_id}/associations/contacts")),
    ]  # fmt: skip
    for document, schema, response in checks:
        assert response.status_code < 500, response.text
        errors = [str(e) for e in spec_validator(document, schema).iter_errors(response.json())]
        assert errors == [], (schema, errors)
