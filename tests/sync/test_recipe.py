"""Recipe files: what a valid one yields, and errors that point at the line."""

from __future__ import annotations

import pytest

from isao.sync.expressions import Template
from isao.sync.recipe import RecipeError, ValueMap, parse

pytestmark = pytest.mark.no_database

RECIPE = """\
name: orders-to-crm
title: Orders to CRM deals
connections:
  shop: woocommerce
  crm: zohocrm
options:
  vip_threshold: 500
flows:
  - name: orders
    source: {connection: shop, object: orders}
    trigger:
      webhook: [order.created, order.updated]
      poll: "*/15 * * * *"
    when: "status != 'checkout-draft'"
    steps:
      - name: contact
        target: {connection: crm, object: Contacts}
        match: {key: Email}
        fields:
          Email: "{billing.email}"
          Last_Name: "{billing.last_name or 'Unknown'}"
      - name: deal
        target: {connection: crm, object: Deals}
        action: create
        fields:
          Deal_Name: "WooCommerce Order #{id}"
          Amount: "{total - total_tax - shipping_total}"
          Stage: {from: "{status}", map: {completed: Closed Won}, default: Qualification}
          Contact_Name: {id: "{steps.contact.id}"}
          Probability: 50
"""


def test_a_recipe_loads_with_its_mappings_compiled() -> None:
    recipe = parse(RECIPE)
    flow = recipe.flows[0]
    assert flow.trigger.webhook == ("order.created", "order.updated")
    assert flow.when is not None and flow.when({"status": "checkout-draft"}) is False
    contact, deal = flow.steps
    assert (contact.match.key, contact.action) == ("Email", "upsert")
    assert deal.action == "create"
    stage = deal.fields["Stage"]
    assert isinstance(stage, ValueMap) and stage.map["completed"]({}) == "Closed Won"
    assert isinstance(deal.fields["Contact_Name"]["id"], Template)
    assert deal.fields["Probability"] == 50


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("action: create", "action: replace"), r"<recipe>:24: flows\.0\.steps\.1\.action"),
        (
            ("{connection: crm, object: Deals}", "{connection: erp, object: Deals}"),
            r"<recipe>:23: flows\.0\.steps\.1\.target\.connection: role 'erp'",
        ),
        (('Deal_Name: "WooCommerce Order #{id}"', 'Deal_Name: "#{id +}"'), r"cannot parse"),
        (("{total - total_tax - shipping_total}", "{os.system(1)}"), r"not allowed|unknown transform"),
        (("name: orders-to-crm", "name: Orders To CRM"), r"<recipe>:1: name: String should match"),
        (("  - name: orders\n", "  - name: orders\n    colour: blue\n"), r"<recipe>:10: flows\.0\.colour"),
    ],
)
def test_errors_name_the_line_and_the_field(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(RecipeError, match=expected):
        parse(RECIPE.replace(*change))


def test_not_yaml_or_not_a_mapping() -> None:
    with pytest.raises(RecipeError, match="not valid YAML"):
        parse("name: [unclosed")
    with pytest.raises(RecipeError, match="a recipe is a YAML mapping"):
        parse("- just a list")
