"""Collection listings of orders, products and customers: filters, search and ordering."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from isao.sandbox.woocommerce.call import _Call
from isao.sandbox.woocommerce.core import _Core
from isao.sandbox.woocommerce.formats import _decimal, _parse_date
from isao.sandbox.woocommerce.schema import (
    CUSTOMER_LIST_SPECS,
    ORDER_LIST_SPECS,
    PRODUCT_LIST_SPECS,
    _validate,
)


class ListEndpoints(_Core):
    """``GET`` on a collection: which records, in which order (paging is the core's)."""

    # --- collections -----------------------------------------------------------------------------------

    async def _list(self, call: _Call, collection: str) -> Response:
        specs = {"orders": ORDER_LIST_SPECS, "products": PRODUCT_LIST_SPECS}.get(
            collection, CUSTOMER_LIST_SPECS
        )
        args = _validate(call.params, specs)
        call.require("list")
        if collection == "customers":
            records = self._query_customers(args)
        else:
            records = self._query_posts(collection, args)
        return self._page(call, [self._render(collection, r) for r in records], args)

    def _query_posts(self, collection: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        records = self.store.all(collection)
        if collection == "orders":
            wanted: list[str] = []
            for status in args.get("status", ["any"]):
                if status == "any":  # as WC_REST_Orders_Controller: "any" ends the list
                    wanted = []
                    break
                wanted.append(status)
            if wanted:
                records = [r for r in records if r["status"] in wanted]
            else:
                records = [r for r in records if r["status"] != "trash"]
            if "customer" in args:
                records = [r for r in records if r["customer_id"] == args["customer"]]
            if "product" in args:
                records = [
                    r for r in records if any(i["product_id"] == args["product"] for i in r["line_items"])
                ]
            if args.get("parent"):
                records = [r for r in records if r["parent_id"] in args["parent"]]
        else:
            status = args.get("status", "any")
            records = [
                r for r in records if (r["status"] != "trash" if status == "any" else r["status"] == status)
            ]
            if args.get("sku"):
                skus = {sku.strip() for sku in str(args["sku"]).split(",")}
                records = [r for r in records if r["sku"] in skus]
            for name in ("slug", "type", "stock_status"):
                if name in args:
                    records = [r for r in records if r[name] == args[name]]
        if args.get("include"):
            records = [r for r in records if r["id"] in args["include"]]
        if args.get("exclude"):
            records = [r for r in records if r["id"] not in args["exclude"]]
        if args.get("search"):
            needle = str(args["search"]).lower()
            records = [r for r in records if needle in self._haystack(collection, r)]
        for name, column, after in (
            ("after", "_created", True),
            ("before", "_created", False),
            ("modified_after", "_modified", True),
            ("modified_before", "_modified", False),
        ):
            if name in args:
                limit = _parse_date(args[name]) or 0
                records = [r for r in records if (r[column] > limit if after else r[column] < limit)]
        orderby = args.get("orderby", "date")
        include = args.get("include") or []
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "date": lambda r: (r["_created"], r["id"]),
            "id": lambda r: r["id"],
            "modified": lambda r: (r["_modified"], r["id"]),
            "include": lambda r: include.index(r["id"]) if r["id"] in include else len(include),
            "title": lambda r: (str(r.get("name", "")).lower(), r["id"]),
            "slug": lambda r: (str(r.get("slug", "")), r["id"]),
            "price": lambda r: (_decimal(r.get("price")), r["id"]),
            "popularity": lambda r: (r.get("total_sales", 0), r["id"]),
            "rating": lambda r: (0, r["id"]),
        }
        return self._sort(records, keys[orderby], args.get("order", "desc"))

    @staticmethod
    def _haystack(collection: str, record: dict[str, Any]) -> str:
        if collection == "products":
            parts = [record["name"], record["description"], record["short_description"]]
        else:
            parts = [str(record["id"]), *record["billing"].values(), *record["shipping"].values()]
            parts += [item["name"] for item in record["line_items"]]
        return " ".join(str(part) for part in parts).lower()

    def _query_customers(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        records = self.store.all("customers")
        role = args.get("role", "customer")
        if role != "all":
            records = [r for r in records if r["role"] == role]
        if args.get("include"):
            records = [r for r in records if r["id"] in args["include"]]
        if args.get("exclude"):
            records = [r for r in records if r["id"] not in args["exclude"]]
        if args.get("email"):
            records = [r for r in records if r["email"].lower() == args["email"].lower()]
        elif args.get("search"):
            needle = str(args["search"]).lower()
            records = [
                r
                for r in records
                if any(needle in str(r[k]).lower() for k in ("email", "username", "first_name", "last_name"))
            ]
        include = args.get("include") or []
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "id": lambda r: r["id"],
            "include": lambda r: include.index(r["id"]) if r["id"] in include else len(include),
            "name": lambda r: (self._display_name(r).lower(), r["id"]),
            "registered_date": lambda r: (r["_created"], r["id"]),
        }
        return self._sort(records, keys[args.get("orderby", "name")], args.get("order", "asc"))

    @staticmethod
    def _display_name(customer: Mapping[str, Any]) -> str:
        return f"{customer['first_name']} {customer['last_name']}".strip() or str(customer["username"])
