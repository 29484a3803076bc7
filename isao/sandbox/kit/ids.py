"""Id styles: what a provider's record ids look like, drawn from a store sequence so they are stable across
restarts with ``--data-dir``.

- plain integers (WooCommerce, HubSpot, Shopify's REST ids): ``Store.next_id``;
- Shopify GIDs (``gid://shopify/Order/450789469``) around those integers;
- Zoho's 19-digit ids (a 13-digit org prefix and a sequence);
- Salesforce's ids: a 3-character key prefix per object, 12 base-62 characters, and the 3-character
  case-safe suffix that makes the 18-character form;
- Stripe's prefixed ids (``cus_``, ``pi_``…) with 14 base-62 characters.
"""

from __future__ import annotations

import hashlib
import string

from isao.sandbox.store import Store

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, digit = divmod(number, 62)
        digits = BASE62[digit] + digits
    return digits.rjust(width, "0")[-width:]


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def gid_parts(value: str) -> tuple[str, str] | None:
    """``(kind, number)`` of a Shopify GID, None for anything else."""
    prefix, _, rest = value.partition("gid://shopify/")
    kind, _, number = rest.partition("/")
    return (kind, number.partition("?")[0]) if not prefix and kind and number else None


def zoho_long(store: Store, prefix: str, name: str = "record_ids") -> str:
    """Zoho's 19-digit ids: ``prefix`` (13 digits) and a 6-digit sequence."""
    return f"{prefix}{store.next_id(name, start=100001):06d}"


_SUFFIX = string.ascii_uppercase + "012345"


def salesforce_suffix(id15: str) -> str:
    """The case-safe suffix: per 5-character chunk, a bit for each upper-case letter, lowest first."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char.isupper())
        suffix += _SUFFIX[bits]
    return suffix


def salesforce_id(store: Store, key_prefix: str, pod: str = "5g0") -> str:
    """An 18-character id of the object whose key prefix is ``key_prefix`` (``003`` Contact …)."""
    number = store.next_id(f"sf:{key_prefix}", start=1)
    id15 = key_prefix + pod + base62(number, 9)
    return id15 + salesforce_suffix(id15)


def stripe_id(store: Store, prefix: str) -> str:
    """``cus_…``: 14 base-62 characters, unique per prefix, derived from a sequence (not guessable order)."""
    number = store.next_id(f"stripe:{prefix}", start=1)
    digest = int.from_bytes(hashlib.sha256(f"{prefix}{number}".encode()).digest()[:10], "big")
    return f"{prefix}_{base62(digest, 10)}{base62(number, 4)}"
