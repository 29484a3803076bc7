"""Enabling a recipe: roles bound to the company's own connections of the right provider, polls scheduled."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from isao import connections
from isao.crm import companies
from isao.db import Database
from isao.db.models import Schedule
from isao.sync import bindings, catalog
from isao.sync.recipe import RecipeError

RECIPE = """\
name: shop-to-crm
title: Shop customers to CRM contacts
connections: {shop: woocommerce, crm: hubspot}
options: {vip_threshold: 500}
flows:
  - name: customers
    source: {connection: shop, object: customers}
    trigger: {webhook: [customer.created], poll: "*/10 * * * *"}
    steps:
      - name: contact
        target: {connection: crm, object: contacts}
        match: {key: email}
        fields: {email: "{email}"}
"""


@pytest.fixture
def recipes(tmp_path: Path) -> Path:
    (tmp_path / "shop-to-crm.yaml").write_text(RECIPE)
    (tmp_path / "misnamed.yaml").write_text(RECIPE)
    return tmp_path


def _company(db: Database) -> tuple[str, str, str, str]:
    with db.write() as session:
        company = companies.create(session, f"Binder {time.monotonic_ns()}")
        shop = connections.create(session, company.id, "woocommerce", "shop").id
        crm = connections.create(session, company.id, "hubspot", "crm").id
        other = companies.create(session, f"Other {time.monotonic_ns()}")
        foreign = connections.create(session, other.id, "hubspot", "crm").id
    return company.id, shop, crm, foreign


def test_enable_binds_roles_schedules_polls_and_disable_pauses_them(qdb: Database, recipes: Path) -> None:
    recipe = catalog.get("shop-to-crm", recipes)
    company_id, shop, crm, _ = _company(qdb)
    with qdb.write() as session:
        binding = bindings.enable(
            session, company_id, recipe, {"shop": shop, "crm": crm}, {"vip_threshold": 900}
        )
        binding_id = binding.id
        assert bindings.options(recipe, binding) == {"vip_threshold": 900}
    name = bindings.schedule_name(binding_id, "customers")
    with qdb.read() as session:
        schedule = session.get(Schedule, name)
        assert schedule is not None and schedule.enabled and schedule.kind == bindings.POLL
        assert schedule.payload == {"binding_id": binding_id, "flow": "customers"}
    with qdb.write() as session:
        found = bindings.get(session, company_id, "shop-to-crm")
        assert found is not None
        bindings.disable(session, found)
    with qdb.read() as session:
        assert session.scalars(select(Schedule.enabled).where(Schedule.name == name)).one() is False
    with qdb.write() as session:  # enabling again reuses the binding (its ID map and cursors)
        assert bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm}).id == binding_id


def test_enable_refuses_what_does_not_fit(qdb: Database, recipes: Path) -> None:
    recipe = catalog.get("shop-to-crm", recipes)
    company_id, shop, crm, foreign = _company(qdb)
    cases = [
        ({"shop": shop}, {}, "missing crm"),
        ({"shop": shop, "crm": crm, "erp": crm}, {}, "unknown erp"),
        ({"shop": crm, "crm": crm}, {}, "role shop needs a woocommerce connection"),
        ({"shop": shop, "crm": foreign}, {}, "no connection .* in this company"),
        ({"shop": shop, "crm": crm}, {"colour": "blue"}, "unknown options colour"),
    ]
    for bound, options, message in cases:
        with qdb.write() as session, pytest.raises(ValueError, match=message):
            bindings.enable(session, company_id, recipe, bound, options)


def test_catalog_names_what_it_knows_and_checks_file_names(recipes: Path) -> None:
    assert {"shop-to-crm", "misnamed"} <= set(catalog.files(recipes))
    with pytest.raises(KeyError, match="no recipe 'nope'"):
        catalog.get("nope", recipes)
    with pytest.raises(RecipeError, match="named 'misnamed'"):
        catalog.get("misnamed", recipes)
