"""The mapping language: paths, templates, exact money arithmetic, value choices and named transforms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from isao.sync.expressions import ExpressionError, compile_expression, compile_template

pytestmark = pytest.mark.no_database

ORDER = {
    "id": 727,
    "status": "processing",
    "total": "129.90",
    "total_tax": "21.65",
    "shipping_total": "10.00",
    "date_created_gmt": "2026-11-20T09:15:00",
    "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                "phone": "01 23 45 67 89", "country": "FR"},
    "line_items": [
        {"name": "Blue Shirt", "sku": "BS-1", "quantity": 2, "total": "40.00"},
        {"name": "Hat", "sku": "", "quantity": 1, "total": "58.25"},
    ],
}  # fmt: skip


def evaluate(template: str, record: dict = ORDER, **context):
    return compile_template(template)(record, context)


def test_paths_templates_and_typed_single_expressions() -> None:
    assert evaluate("{billing.email}") == "ada@example.com"
    assert evaluate("WooCommerce Order #{id} ({billing.first_name} {billing.last_name})") == (
        "WooCommerce Order #727 (Ada Lovelace)"
    )
    assert evaluate("{id}") == 727  # one expression keeps its type
    assert evaluate("{line_items[0].sku}") == "BS-1"
    assert evaluate("{line_items[5].sku}") is None and evaluate("{shipping.city}") is None
    assert evaluate("Closed Won") == "Closed Won"


def test_money_arithmetic_is_exact() -> None:
    assert evaluate("{total - total_tax - shipping_total}") == Decimal("98.25")
    assert evaluate("{money(total * 1.2)}") == Decimal("155.88")
    assert evaluate("{discount_total - 1}") == Decimal(-1)  # missing counts as zero


def test_choices_comparisons_and_context() -> None:
    assert evaluate("{shipping.phone or billing.phone}") == "01 23 45 67 89"
    assert evaluate("{'Closed Won' if status == 'completed' else 'Qualification'}") == "Qualification"
    assert evaluate("{'VIP' if total > 100 else ''}") == "VIP"  # "129.90" compares as a number
    assert evaluate("{status in ['pending', 'checkout-draft']}") is False
    assert evaluate("{threshold}", threshold=500) == 500  # recipe options reach expressions


def test_named_transforms() -> None:
    assert evaluate("{e164(billing.phone, billing.country)}") == "+33123456789"
    assert evaluate("{e164('not a phone')}") == "not a phone"
    assert (
        evaluate("{first_name('Ada King Lovelace')} / {last_name('Ada King Lovelace')}")
        == "Ada / King Lovelace"
    )
    assert evaluate("{last_name('Cher')}") == "Cher"
    assert evaluate("{join(billing.first_name, shipping.last_name, billing.last_name)}") == "Ada Lovelace"
    assert evaluate("{date(date_created_gmt)}") == "2026-11-20"
    assert evaluate("{days_after(date_created_gmt, 30)}") == "2026-12-20"
    assert evaluate("{iso(date_created_gmt)}") == "2026-11-20T09:15:00.000Z"
    assert evaluate("{epoch_ms('2026-11-20T00:00:00Z')}") == 1795132800000
    assert evaluate("{items_summary(line_items)}") == "2 x Blue Shirt (SKU BS-1) = 40.00\n1 x Hat = 58.25"
    assert evaluate("{items_list(line_items)}") == "Blue Shirt (x2), Hat (x1)"
    assert evaluate("{sum(pluck(line_items, 'total'))}") == Decimal("98.25")
    assert evaluate("{count(line_items)}") == 2


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("__import__('os')", "unknown transform"),
        ("billing.__class__", "may not start"),
        ("[x for x in line_items]", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("total +", "cannot parse"),
        ("_secret", "may not start"),
    ],
)
def test_anything_outside_the_language_is_refused_at_load_time(source: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason):
        compile_expression(source)


def test_attribute_names_cannot_reach_python_internals() -> None:
    # Even a path that names a dunder on a dict only ever looks up a key.
    assert compile_expression("billing.keys")(ORDER) is None
