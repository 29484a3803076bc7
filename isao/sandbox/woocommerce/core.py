"""The base every endpoint group builds on: the sandbox's shared state and its record helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Faults
from isao.sandbox.kit.paging import numbered
from isao.sandbox.woocommerce.call import _Call
from isao.sandbox.woocommerce.constants import NAMESPACE
from isao.sandbox.woocommerce.formats import _stamp
from isao.sandbox.woocommerce.replies import WPError, _reply


def _public(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _meta(
    existing: list[dict[str, Any]], posted: list[Any], next_id: Callable[[], int]
) -> list[dict[str, Any]]:
    """``update_meta_data(key, value, id)``: by id, else the first with that key, else a new entry."""
    meta = [dict(entry) for entry in existing]
    for entry in posted:
        if not isinstance(entry, dict) or "key" not in entry:
            continue
        target = None
        if entry.get("id"):
            target = next((m for m in meta if m["id"] == entry["id"]), None)
        if target is None:
            target = next((m for m in meta if m["key"] == entry["key"]), None)
        if target is None:
            meta.append({"id": next_id(), "key": str(entry["key"]), "value": entry.get("value")})
        else:
            target["key"], target["value"] = str(entry["key"]), entry.get("value")
    return meta


class _Core(Sandbox):
    """The state and helpers every endpoint group shares: the clock, the OAuth nonces, links, paging,
    rendering, finding and stamping records."""

    def __init__(self, *, store_path: str | Path | None = None, faults: Faults | None = None) -> None:
        super().__init__(store_path=store_path, faults=faults)
        self.clock: Callable[[], float] = time.time
        """Time of record dates and delivery ids; tests may replace it (OAuth checks keep real time)."""
        self._nonces: dict[str, float] = {}

    def rest_url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/wp-json{path}"

    def _page(self, call: _Call, records: list[dict[str, Any]], args: dict[str, Any]) -> Response:
        page, per_page = args.get("page", 1), args.get("per_page", 10)
        shown, paging = numbered(records, page, per_page, args.get("offset"))
        pages = paging.pages
        links = []
        base = dict(call.request.query_params.items())
        here = self.rest_url(call.route)
        if page > 1:
            links.append(f'<{here}?{urlencode(base | {"page": min(page - 1, max(pages, 1))})}>; rel="prev"')
        if pages > page:
            links.append(f'<{here}?{urlencode(base | {"page": page + 1})}>; rel="next"')
        headers = {"X-WP-Total": str(paging.total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return _reply([self._fields(call, record) for record in shown], headers=headers)

    @staticmethod
    def _fields(call: _Call, record: dict[str, Any]) -> dict[str, Any]:
        wanted = call.query.get("_fields")
        if not isinstance(wanted, str) or not wanted:
            return record
        names = {name.strip().split(".")[0] for name in wanted.split(",")}
        return {key: value for key, value in record.items() if key in names}

    @staticmethod
    def _sort(
        records: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], order: str
    ) -> list[dict[str, Any]]:
        return sorted(records, key=key, reverse=order == "desc")

    def _render(self, collection: str, record: Mapping[str, Any]) -> dict[str, Any]:
        data = _public(record)
        links: dict[str, Any] = {
            "self": [{"href": self.rest_url(f"/{NAMESPACE}/{collection}/{record['id']}")}],
            "collection": [{"href": self.rest_url(f"/{NAMESPACE}/{collection}")}],
        }
        if collection == "orders" and record.get("customer_id"):
            links["customer"] = [{"href": self.rest_url(f"/{NAMESPACE}/customers/{record['customer_id']}")}]
        if collection == "products":
            data["permalink"] = f"{self.base_url.rstrip('/')}/product/{record['slug']}/"
        if collection == "orders":
            data["payment_url"] = (
                f"{self.base_url.rstrip('/')}/checkout/order-pay/{record['id']}/?pay_for_order=true"
                f"&key={record['order_key']}"
            )
        data["_links"] = links
        return data

    def _find(self, collection: str, id_: int, code: str, message: str, status: int) -> dict[str, Any]:
        found = self.store.get(collection, id_)
        if found is None:
            raise WPError(code, message, status)
        return found

    def _touch(self, record: dict[str, Any]) -> None:
        now = int(self.clock())
        record["_modified"] = now
        record["date_modified"] = record["date_modified_gmt"] = _stamp(now)

    def _dates(self, now: int) -> dict[str, Any]:
        stamp = _stamp(now)
        return {
            "date_created": stamp,
            "date_created_gmt": stamp,
            "date_modified": stamp,
            "date_modified_gmt": stamp,
        }

    def _meta_id(self) -> int:
        return self.store.next_id("meta", 100)
