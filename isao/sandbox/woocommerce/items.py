"""Single-item routes and ``/batch`` for orders, customers and products: read, create, update, trash
or delete, with each resource's own error codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from isao.sandbox.woocommerce.call import _Call, _event
from isao.sandbox.woocommerce.constants import BATCH_LIMIT, NAMESPACE
from isao.sandbox.woocommerce.customers import CustomerRecords
from isao.sandbox.woocommerce.orders import OrderRecords
from isao.sandbox.woocommerce.replies import WPError, _reply
from isao.sandbox.woocommerce.schema import _BOOL, _INT, PRODUCT_SPECS, _coerce, _validate

# --- Resources ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    collection: str
    resource: str
    """The webhook resource (``order``) and the ``…s`` of the route."""
    item_error: str
    item_message: str
    update_message: str
    delete_message: str
    exists_code: str
    exists_message: str


_KINDS = {
    "orders": _Kind(
        "orders",
        "order",
        "woocommerce_rest_shop_order_invalid_id",
        "Invalid ID.",
        "Invalid ID.",
        "Invalid ID.",
        "woocommerce_rest_shop_order_exists",
        "Cannot create existing shop_order.",
    ),
    "products": _Kind(
        "products",
        "product",
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
        "Invalid ID.",
        "Invalid ID.",
        "woocommerce_rest_product_exists",
        "Cannot create existing product.",
    ),
    "customers": _Kind(
        "customers",
        "customer",
        "woocommerce_rest_invalid_id",
        "Invalid resource ID.",
        "Invalid resource ID.",
        "Invalid resource id.",
        "woocommerce_rest_customer_exists",
        "Cannot create existing resource.",
    ),
}


class ItemEndpoints(OrderRecords, CustomerRecords):
    """``/{collection}/{id}`` and ``/{collection}/batch``."""

    # --- single items ---------------------------------------------------------------------------------

    async def _get_item(self, call: _Call, collection: str, id_: str) -> Response:
        call.require("read")
        kind = _KINDS[collection]
        record = self._find(collection, int(id_), kind.item_error, kind.item_message, 404)
        return _reply(self._fields(call, self._render(collection, record)))

    async def _create_item(self, call: _Call, collection: str) -> Response:
        call.require("create")
        record = self._create(collection, call.params, call.events)
        location = self.rest_url(f"/{NAMESPACE}/{collection}/{record['id']}")
        return _reply(self._render(collection, record), 201, {"Location": location})

    async def _update_item(self, call: _Call, collection: str, id_: str) -> Response:
        call.require("edit")
        record = self._update(collection, int(id_), call.params, call.events)
        return _reply(self._render(collection, record))

    async def _delete_item(self, call: _Call, collection: str, id_: str) -> Response:
        call.require("delete")
        force = _validate(call.params, {"force": _BOOL}).get("force", False)
        return _reply(self._delete(collection, int(id_), bool(force), call.events))

    async def _batch(self, call: _Call, collection: str) -> Response:
        call.require("batch")
        work: dict[str, list[Any]] = {}
        for name in ("create", "update", "delete"):
            items = call.params.get(name)
            if isinstance(items, list) and items:
                work[name] = items
        if sum(len(items) for items in work.values()) > BATCH_LIMIT:
            raise WPError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            )
        answer: dict[str, list[dict[str, Any]]] = {}
        for item in work.get("create", []):
            try:
                record = self._create(collection, item if isinstance(item, dict) else {}, call.events)
                answer.setdefault("create", []).append(self._render(collection, record))
            except WPError as error:
                answer.setdefault("create", []).append({"id": 0, "error": error.body()})
        for item in work.get("update", []):
            given = item if isinstance(item, dict) else {}
            try:
                id_, _ = _coerce("id", given.get("id", 0), _INT)
                record = self._update(collection, int(id_ or 0), given, call.events)
                answer.setdefault("update", []).append(self._render(collection, record))
            except WPError as error:
                answer.setdefault("update", []).append({"id": given.get("id"), "error": error.body()})
        for value in work.get("delete", []):
            id_, _ = _coerce("id", value, _INT)
            if not id_:
                continue
            try:
                answer.setdefault("delete", []).append(self._delete(collection, int(id_), True, call.events))
            except WPError as error:
                answer.setdefault("delete", []).append({"id": id_, "error": error.body()})
        return _reply(answer)

    def _create(
        self, collection: str, params: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        kind = _KINDS[collection]
        if params.get("id"):
            raise WPError(kind.exists_code, kind.exists_message, 400)
        if collection == "orders":
            return self._write_order(None, params, events)
        if collection == "products":
            return self._write_product(None, _validate(params, PRODUCT_SPECS), events)
        return self._write_customer(None, params, events)

    def _update(
        self, collection: str, id_: int, params: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        kind = _KINDS[collection]
        record = self._find(collection, id_, kind.item_error, kind.update_message, 400)
        if collection == "orders":
            return self._write_order(record, params, events)
        if collection == "products":
            return self._write_product(record, _validate(params, PRODUCT_SPECS), events)
        return self._write_customer(record, params, events)

    def _delete(
        self, collection: str, id_: int, force: bool, events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        kind = _KINDS[collection]
        if collection == "customers":
            if not force:
                raise WPError(
                    "woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501
                )
            record = self._find(collection, id_, kind.item_error, kind.delete_message, 400)
            shown = self._render(collection, record)
            self.store.delete(collection, id_)
            _event(events, "customer", "deleted", id_)
            return shown
        record = self._find(collection, id_, kind.item_error, kind.delete_message, 404)
        shown = self._render(collection, record)
        if force:
            # No webhook: WooCommerce hooks *.deleted to trashing only.
            self.store.delete(collection, id_)
            return shown
        if record["status"] == "trash":
            post_type = "shop_order" if collection == "orders" else "product"
            raise WPError(
                "woocommerce_rest_already_trashed", f"The {post_type} has already been deleted.", 410
            )
        record["status"] = "trash"
        self._touch(record)
        if collection == "orders":
            record.update(self._order_flags(record))
        self.store.put(collection, id_, record)
        _event(events, kind.resource, "deleted", id_)
        return shown
