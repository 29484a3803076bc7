"""The registry the receiver uses, and the architecture's wall around connectors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from isao.connectors import hubspot, isao, shopify, stripe, webhooks, woocommerce, zohocrm
from isao.errors import SignatureInvalid

URL = "https://isao.example/hooks/conn_9"
NOW = 1_700_000_000
BODY = b'[{"eventId":9,"subscriptionType":"contact.creation"}]'
SIGNED = {
    "woocommerce": woocommerce.sign("s", BODY),
    "shopify": shopify.sign("s", BODY),
    "stripe": stripe.sign("s", BODY, NOW),
    "hubspot": hubspot.sign("s", "POST", URL, BODY, NOW * 1000),
}


def test_registry_maps_each_provider_to_its_module() -> None:
    assert webhooks.VERIFIERS == {
        "woocommerce": woocommerce,
        "hubspot": hubspot,
        "shopify": shopify,
        "stripe": stripe,
        "zohocrm": zohocrm,
        "isao": isao,
    }
    assert webhooks.get("stripe") is stripe


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(
        KeyError, match=r"salesforce.*known: hubspot, isao, shopify, stripe, woocommerce, zohocrm"
    ):
        webhooks.get("salesforce")


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_uniform_call_through_the_registry(provider: str) -> None:
    spec = webhooks.get(provider)
    headers = SIGNED[provider]
    spec.verify_webhook("s", headers, BODY, url=URL, method="POST", now=NOW)
    with pytest.raises(SignatureInvalid, match=provider):
        spec.verify_webhook("wrong", headers, BODY, url=URL, method="POST", now=NOW)
    with pytest.raises(SignatureInvalid, match="no webhook secret"):
        spec.verify_webhook("", headers, BODY, url=URL, now=NOW)
    assert spec.is_ping(headers, BODY) is False


def test_connectors_import_nothing_from_isao_but_errors() -> None:
    package = Path(webhooks.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name == "isao" or name.startswith("isao."):
                    assert name == "isao.errors" or name.startswith("isao.connectors"), (module.name, name)
