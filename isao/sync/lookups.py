"""What a flow reads besides its source record (``lookups.<name>``) and the checks it must pass first.

A lookup either searches a connection for the records matching one field (a customer's orders, the products
of some SKUs) or reads the records associated with the source record (a HubSpot deal's line items).
A failed requirement is a permanent error: the record goes to the dead letters with the message, nothing
is written, and a replay after fixing the data (or the recipe) runs it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from isao.connectors.base import RecordApi
from isao.errors import Invalid
from isao.sync.recipe import Flow


def read(
    flow: Flow, connections: dict[str, str], client: Callable[[str], RecordApi], record: dict[str, Any],
    context: dict[str, Any], source_id: str,
) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """Each lookup in order (a later one may use an earlier one's records)."""
    found: dict[str, list[dict[str, Any]]] = {}
    context["lookups"] = found
    for name, lookup in flow.lookups.items():
        api = client(connections[lookup.connection])
        if lookup.associated:
            associated = getattr(api, "associated", None)
            if associated is None:
                raise Invalid(f"lookup {name}: {type(api).__module__} keeps no associations")
            found[name] = associated(flow.source.object, source_id, lookup.object)
            continue
        assert lookup.search is not None
        ((field, template),) = lookup.search.items()
        value = template(record, context)
        found[name] = [] if value in (None, "") else api.search(lookup.object, field, str(value))
    return found


def check(flow: Flow, record: dict[str, Any], context: dict[str, Any]) -> None:
    failed = [str(r.message(record, context)) for r in flow.require if not r.check(record, context)]
    if failed:
        raise Invalid("; ".join(failed), details={"requirements": failed})
