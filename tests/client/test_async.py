"""The asyncio client against the live API: the same surface as the blocking one, awaited."""

from __future__ import annotations

from datetime import date

import pytest

from isao.client import (
    AsyncIsaoClient,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    Page,
    PermissionDeniedError,
    ValidationError,
)
from tests.client.conftest import Sleeps
from tests.conftest import Tenant


async def test_test_and_contacts(aclient: AsyncIsaoClient, tenant: Tenant) -> None:
    assert (await aclient.test())["companyId"] == tenant.company_id

    ada = await aclient.contacts.create(first_name="Ada", email="ada@example.com")
    assert ada["name"] == "Ada"
    assert await aclient.contacts.get(ada["id"]) == ada
    updated = await aclient.contacts.update(ada["id"], {"city": "London"})
    assert updated["city"] == "London" and updated["email"] == "ada@example.com"

    page = await aclient.contacts.list(email="ada@example.com")
    assert isinstance(page, Page) and [c["id"] for c in page] == [ada["id"]] and page.total == 1

    assert await aclient.contacts.delete(ada["id"]) == {"id": ada["id"], "deleted": True}
    with pytest.raises(NotFoundError):
        await aclient.contacts.get(ada["id"])


async def test_iterate_walks_every_page(aclient: AsyncIsaoClient) -> None:
    ids = [(await aclient.contacts.create(name=f"P{n}", email=f"p{n}@example.com"))["id"] for n in range(5)]
    walked = [c["id"] async for c in aclient.contacts.iterate(limit=2, sort="createdAt")]
    assert walked == ids
    assert (await aclient.contacts.list(limit=2)).total_pages == 3

    deals = [(await aclient.deals.create(title=f"D{n}", value=10))["id"] for n in range(3)]
    assert [d["id"] async for d in aclient.deals.iterate(limit=2, sort="createdAt")] == deals


async def test_upsert(aclient: AsyncIsaoClient) -> None:
    first = await aclient.contacts.upsert(name="Ada", email="ada@example.com")
    second = await aclient.contacts.upsert(name="Ada", email="ada@example.com", position="CTO")
    assert second["id"] == first["id"] and second["position"] == "CTO"
    assert (await aclient.contacts.list()).total == 1


async def test_deals(aclient: AsyncIsaoClient) -> None:
    contact = await aclient.contacts.create(name="Ada")
    deal = await aclient.deals.create({"title": "Engines", "value": 500, "contactId": contact["id"]})
    assert deal["contact"]["id"] == contact["id"]
    assert await aclient.deals.get(deal["id"]) == deal
    assert (await aclient.deals.update(deal["id"], title="Looms"))["title"] == "Looms"
    staged = await aclient.deals.update_status(deal["id"], stage="demo", probability=20)
    assert (staged["stage"], staged["probability"]) == ("demo", 20)
    assert (await aclient.deals.list(stage="demo")).total == 1
    assert (await aclient.deals.mark_won(deal["id"]))["status"] == "won"
    lost = await aclient.deals.mark_lost(deal["id"], date(2024, 12, 30))
    assert lost["status"] == "lost" and lost["actualCloseDate"] == "2024-12-30T00:00:00.000Z"
    assert (await aclient.deals.delete(deal["id"]))["deleted"] is True
    with pytest.raises(NotFoundError):
        await aclient.deals.delete(deal["id"])


async def test_webhooks(aclient: AsyncIsaoClient) -> None:
    hook = await aclient.webhooks.subscribe("contact.created", "https://hooks.example.com/in")
    assert hook["secret"].startswith("whsec_")
    assert [h["id"] for h in await aclient.webhooks.list()] == [hook["id"]]
    await aclient.webhooks.delete(hook["id"])
    with pytest.raises(NotFoundError):
        await aclient.webhooks.delete(hook["id"])


async def test_errors_map_to_classes(aclient: AsyncIsaoClient, tenant: Tenant, sleeps: Sleeps) -> None:
    ada = await aclient.contacts.create(name="Ada", email="ada@example.com")
    with pytest.raises(ConflictError) as conflict:
        await aclient.contacts.create(name="Other", email="ada@example.com")
    assert conflict.value.existing_contact_id == ada["id"]
    with pytest.raises(ValidationError) as invalid:
        await aclient.contacts.create(email="nope")
    assert set(invalid.value.details) == {"email"}  # the name check runs only once fields are valid

    async with AsyncIsaoClient(tenant.key(["contacts:read"]), tenant.api) as readonly:
        with pytest.raises(PermissionDeniedError) as denied:
            await readonly.deals.list()
        assert denied.value.required_permission == "deals:read"
    async with AsyncIsaoClient("ck_not-a-key", tenant.api) as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.test()
    assert sleeps.calls == []
