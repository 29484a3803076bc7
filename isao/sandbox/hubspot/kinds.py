"""The four CRM object types the sandbox keeps and the HubSpot-defined associations among them."""

from __future__ import annotations

from dataclasses import dataclass

# --- Object types and their properties --------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    type_id: str
    singular: str
    label: str
    modified: str
    defaults: tuple[str, ...]
    """Properties a read returns when none are asked for."""
    searchable: tuple[str, ...]
    """Properties the free-text ``query`` of a search looks at."""


# fmt: off
CONTACTS = _Kind("contacts", "0-1", "contact", "CONTACT", "lastmodifieddate",
                 ("email", "firstname", "lastname"), ("email", "firstname", "lastname", "phone", "company"))
DEALS = _Kind("deals", "0-3", "deal", "DEAL", "hs_lastmodifieddate",
              ("dealname", "amount", "closedate", "dealstage", "pipeline"), ("dealname",))
PRODUCTS = _Kind("products", "0-7", "product", "PRODUCT", "hs_lastmodifieddate",
                 ("name", "price", "description"), ("name", "hs_sku", "description"))
LINE_ITEMS = _Kind("line_items", "0-8", "line_item", "LINE_ITEM", "hs_lastmodifieddate",
                   ("name", "quantity", "price", "amount", "hs_product_id"), ("name", "hs_sku"))
# fmt: on
KINDS = {kind.name: kind for kind in (CONTACTS, DEALS, PRODUCTS, LINE_ITEMS)}
_KIND_ALIASES = {alias: kind for kind in KINDS.values() for alias in (kind.name, kind.singular, kind.type_id)}

# HubSpot-defined association types among these objects (saas-apis §2.7): type id → (from, to).
ASSOCIATION_TYPES = {3: ("deals", "contacts"), 4: ("contacts", "deals"), 19: ("deals", "line_items"),
                     20: ("line_items", "deals")}  # fmt: skip
DEFAULT_TYPE = {pair: type_id for type_id, pair in ASSOCIATION_TYPES.items()}
INVERSE_TYPE = {3: 4, 4: 3, 19: 20, 20: 19}
