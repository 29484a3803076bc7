"""Every change writes its event row in the change's own transaction."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from isao.crm import contacts, events
from isao.crm.schemas import ContactCreate
from isao.db import Database
from isao.db.models import Contact, Event
from tests.conftest import Tenant


def types_for(db: Database, company_id: str, entity_id: str) -> list[str]:
    with db.read() as session:
        rows = session.scalars(
            select(Event)
            .where(Event.company_id == company_id, Event.entity_id == entity_id)
            .order_by(Event.id)
        ).all()
        return [row.type for row in rows]


def test_contact_events(api: httpx.Client, tenant: Tenant) -> None:
    contact = api.post("/contacts", json={"name": "Evented"}).json()["data"]
    api.put(f"/contacts/{contact['id']}", json={"city": "Paris"})
    api.put(f"/contacts/{contact['id']}", json={"city": "Paris"})  # no change, no event
    api.delete(f"/contacts/{contact['id']}")
    assert types_for(tenant.db, tenant.company_id, contact["id"]) == [
        "contact.created",
        "contact.updated",
        "contact.deleted",
    ]


def test_deal_events_and_payload_shape(api: httpx.Client, tenant: Tenant) -> None:
    deal = api.post("/deals", json={"title": "E", "value": 10, "stage": "lead"}).json()["data"]
    api.put(f"/deals/{deal['id']}/status", json={"probability": 40})
    api.put(f"/deals/{deal['id']}/status", json={"stage": "proposal"})
    won = api.put(f"/deals/{deal['id']}/status", json={"status": "won", "stage": "closed-won"}).json()["data"]
    api.put(f"/deals/{deal['id']}/status", json={"status": "lost"})
    assert types_for(tenant.db, tenant.company_id, deal["id"]) == [
        "deal.created",
        "deal.updated",
        "deal.updated",
        "deal.stage_changed",
        "deal.updated",
        "deal.stage_changed",
        "deal.won",
        "deal.updated",
        "deal.lost",
    ]
    with tenant.db.read() as session:
        won_event = session.scalar(
            select(Event).where(Event.entity_id == deal["id"], Event.type == "deal.won")
        )
        assert won_event is not None
        assert won_event.data["wonAt"] == won["actualCloseDate"]
        assert {k: v for k, v in won_event.data.items() if k != "wonAt"} == won
        stage = session.scalars(
            select(Event)
            .where(Event.entity_id == deal["id"], Event.type == "deal.stage_changed")
            .order_by(Event.id)
        ).all()
        assert [(e.data["previousStage"], e.data["stage"]) for e in stage] == [
            ("lead", "proposal"),
            ("proposal", "closed-won"),
        ]


def test_abandoned_cart_created_lost_emits_lost(api: httpx.Client, tenant: Tenant) -> None:
    deal = api.post("/deals", json={"title": "Abandoned Cart #1", "value": 10, "status": "lost"}).json()[
        "data"
    ]
    assert deal["actualCloseDate"] is not None
    assert types_for(tenant.db, tenant.company_id, deal["id"]) == ["deal.created", "deal.lost"]


def test_a_failed_transaction_leaves_neither_change_nor_event(tenant: Tenant) -> None:
    with pytest.raises(RuntimeError), tenant.db.write() as session:
        contact_id = contacts.create(session, tenant.company_id, ContactCreate(name="Rolled Back"))["id"]
        raise RuntimeError("crash after the write, before commit")
    with tenant.db.read() as session:
        assert session.get(Contact, contact_id) is None
    assert types_for(tenant.db, tenant.company_id, contact_id) == []


def test_event_type_catalogue() -> None:
    assert {
        "contact.created",
        "contact.updated",
        "deal.created",
        "deal.updated",
        "deal.stage_changed",
        "deal.won",
        "deal.lost",
    } <= set(events.EVENT_TYPES)
