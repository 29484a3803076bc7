"""Each error answer of the live API arrives as its own exception class, with its fields."""

from __future__ import annotations

import socket

import httpx
import pytest

from isao.client import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IsaoClient,
    IsaoError,
    NotFoundError,
    PermissionDeniedError,
    TransportError,
    ValidationError,
)
from tests.client.conftest import Sleeps
from tests.conftest import Tenant


def test_401_unknown_key(tenant: Tenant) -> None:
    with IsaoClient("ck_not-a-real-key", tenant.api) as stranger:
        with pytest.raises(AuthenticationError) as caught:
            stranger.contacts.list()
    err = caught.value
    assert isinstance(err, ApiError) and isinstance(err, IsaoError)
    assert err.status_code == 401 and err.error == "Invalid API key"
    assert err.message is not None and "Bearer" in err.message
    assert err.body["success"] is False


def test_403_missing_scope(tenant: Tenant, sleeps: Sleeps) -> None:
    with IsaoClient(tenant.key(["contacts:read"]), tenant.api, sleep=sleeps) as readonly:
        assert readonly.contacts.list().total == 0
        with pytest.raises(PermissionDeniedError) as caught:
            readonly.contacts.create(name="Ada")
    err = caught.value
    assert err.status_code == 403
    assert err.required_permission == "contacts:write"
    assert err.available_permissions == ["contacts:read"]
    assert sleeps.calls == []


def test_404_unknown_id(client: IsaoClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.contacts.get("contact_does_not_exist")
    assert caught.value.status_code == 404 and caught.value.error == "Contact not found"
    with pytest.raises(NotFoundError):
        client.deals.update_status("deal_does_not_exist", status="won")


def test_ids_are_escaped_into_one_path_segment(client: IsaoClient) -> None:
    contact = client.contacts.create(name="Ada")
    with pytest.raises(NotFoundError):  # not GET /contacts (the list) nor another route
        client.contacts.get(f"../contacts/{contact['id']}")
    with pytest.raises(ValueError, match="non-empty"):
        client.contacts.get("")


def test_409_duplicate_contact(client: IsaoClient) -> None:
    ada = client.contacts.create(name="Ada", email="ada@example.com")
    with pytest.raises(ConflictError) as caught:
        client.contacts.create(name="Imposter", email="Ada@Example.com")
    err = caught.value
    assert err.status_code == 409 and err.error == "Contact already exists"
    assert err.existing_contact_id == ada["id"] and err.field == "email"


def test_422_details(client: IsaoClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.deals.create(title="", value=-5, currency="euros")
    err = caught.value
    assert err.status_code == 422 and err.error == "Validation failed"
    assert err.details["value"] == "Value must be a positive number"
    assert {"title", "value", "currency"} <= set(err.details)
    with pytest.raises(ValidationError) as bad_filter:
        client.contacts.list(created_since="yesterday")
    assert set(bad_filter.value.details) == {"createdSince"}


def test_400_unknown_contact_reference(client: IsaoClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.deals.create(title="Engines", value=100, contact_id="contact_missing")
    assert caught.value.status_code == 400
    assert caught.value.error == "Contact not found or does not belong to your company"


def test_other_companys_records_are_not_found(client: IsaoClient, other_tenant: Tenant) -> None:
    theirs = client.contacts.create(name="Ada")
    with IsaoClient(other_tenant.token, other_tenant.api) as globex:
        with pytest.raises(NotFoundError):
            globex.contacts.get(theirs["id"])
        assert globex.contacts.list().total == 0


def test_unreachable_server_is_a_transport_error_after_retries(sleeps: Sleeps) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with IsaoClient("ck_x", f"http://127.0.0.1:{port}/api/external", max_retries=2, sleep=sleeps) as dead:
        with pytest.raises(TransportError) as caught:
            dead.test()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(sleeps.calls) == 2  # connection refused: retried, even though nothing answered
    assert f"127.0.0.1:{port}" in str(caught.value)
