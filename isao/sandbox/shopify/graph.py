"""The GraphQL Admin API on graphql-core: the schema of ``schema.py``, resolvers that turn the REST-shaped
records into GraphQL objects, connections with cursors, and Shopify's cost accounting (``extensions.cost``
on every answer, ``THROTTLED`` from a leaky bucket of 2,000 points restoring 100 a second)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute_sync,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

from isao.sandbox.kit.ids import gid, gid_parts
from isao.sandbox.kit.limits import LeakyBucket
from isao.sandbox.kit.paging import Cursor, connection
from isao.sandbox.shopify.records import InvalidRecord, Json, Records
from isao.sandbox.shopify.schema import SDL

MAX_COST = 1000
BUCKET, RESTORE = 2000.0, 100.0
PAGE_MAX = 250
TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "CUSTOMERS_CREATE": "customers/create",
    "CUSTOMERS_UPDATE": "customers/update",
    "PRODUCTS_CREATE": "products/create",
    "PRODUCTS_UPDATE": "products/update",
    "APP_UNINSTALLED": "app/uninstalled",
}
_SORTS: dict[str, Callable[[Json], Any]] = {
    "ID": lambda r: r["id"],
    "CREATED_AT": lambda r: (r["created_at"], r["id"]),
    "UPDATED_AT": lambda r: (r["updated_at"], r["id"]),
    "PROCESSED_AT": lambda r: (r.get("processed_at"), r["id"]),
    "TOTAL_PRICE": lambda r: (float(r.get("total_price") or 0), r["id"]),
    "NAME": lambda r: (f"{r.get('first_name') or ''} {r.get('last_name') or ''}".strip(), r["id"]),
    "TITLE": lambda r: (r.get("title") or "", r["id"]),
}


def _bag(amount: Any, currency: str) -> Json:
    money = {"amount": str(amount or "0.00"), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


def _address(address: Json | None) -> Json | None:
    if not address:
        return None
    names = {
        "address1": "address1",
        "address2": "address2",
        "city": "city",
        "province": "province",
        "provinceCode": "province_code",
        "zip": "zip",
        "country": "country",
        "countryCodeV2": "country_code",
        "company": "company",
        "firstName": "first_name",
        "lastName": "last_name",
        "phone": "phone",
    }
    return {key: address.get(rest) for key, rest in names.items()}


def _tags(value: Any) -> list[str]:
    return [t.strip() for t in str(value or "").split(",") if t.strip()]


class Graph(Records):
    """The GraphQL endpoint's state: its schema and the shop's cost bucket."""

    domain: str

    def shop(self) -> Json:
        raise NotImplementedError

    def subscribe(self, topic: str, url: str, format_: str, fields: list[str]) -> Json:
        raise NotImplementedError

    def _graph_setup(self) -> None:
        self.schema = _schema(self)
        self.bucket = LeakyBucket(BUCKET, RESTORE)

    # --- REST records as GraphQL objects ---

    def order_node(self, order: Json) -> Json:
        currency = order["currency"]
        customer = self.store.get("customers", (order.get("customer") or {}).get("id") or 0)
        fulfilment = {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
            order.get("fulfillment_status") or ""
        )
        return {
            "__typename": "Order",
            "id": order["admin_graphql_api_id"],
            "legacyResourceId": order["id"],
            "name": order["name"],
            "email": order.get("email"),
            "phone": order.get("phone"),
            "note": order.get("note"),
            "tags": _tags(order.get("tags")),
            "createdAt": order["created_at"],
            "updatedAt": order["updated_at"],
            "processedAt": order["processed_at"],
            "cancelledAt": order.get("cancelled_at"),
            "closed": bool(order.get("closed_at")),
            "currencyCode": currency,
            "displayFinancialStatus": str(order["financial_status"]).upper(),
            "displayFulfillmentStatus": fulfilment or "UNFULFILLED",
            "totalPriceSet": _bag(order["total_price"], currency),
            "subtotalPriceSet": _bag(order["subtotal_price"], currency),
            "totalTaxSet": _bag(order["total_tax"], currency),
            "totalShippingPriceSet": _bag("0.00", currency),
            "customer": self.customer_node(customer) if customer else None,
            "billingAddress": _address(order.get("billing_address")),
            "shippingAddress": _address(order.get("shipping_address")),
            "_lines": [self.line_node(line, currency) for line in order["line_items"]],
        }

    def line_node(self, line: Json, currency: str) -> Json:
        found = self.variant(line["variant_id"]) if line.get("variant_id") else None
        total = f"{float(line['price']) * int(line['quantity']):.2f}"
        return {
            "__typename": "LineItem",
            "id": line["admin_graphql_api_id"],
            "title": line["title"],
            "name": line["name"],
            "sku": line.get("sku"),
            "quantity": line["quantity"],
            "originalUnitPriceSet": _bag(line["price"], currency),
            "discountedTotalSet": _bag(total, currency),
            "variant": self.variant_node(*found) if found else None,
            "product": self.product_node(found[0]) if found else None,
        }

    def customer_node(self, customer: Json) -> Json:
        first, last = customer.get("first_name"), customer.get("last_name")
        display = (
            " ".join(p for p in (first, last) if p) or customer.get("email") or customer.get("phone") or ""
        )
        return {
            "__typename": "Customer",
            "id": customer["admin_graphql_api_id"],
            "legacyResourceId": customer["id"],
            "email": customer.get("email"),
            "phone": customer.get("phone"),
            "firstName": first,
            "lastName": last,
            "displayName": display,
            "note": customer.get("note"),
            "tags": _tags(customer.get("tags")),
            "createdAt": customer["created_at"],
            "updatedAt": customer["updated_at"],
            "numberOfOrders": customer.get("orders_count") or 0,
            "defaultAddress": _address(customer.get("default_address")),
            "_id": customer["id"],
        }

    def product_node(self, product: Json) -> Json:
        return {
            "__typename": "Product",
            "id": product["admin_graphql_api_id"],
            "legacyResourceId": product["id"],
            "title": product["title"],
            "handle": product["handle"],
            "descriptionHtml": product["body_html"],
            "vendor": product["vendor"],
            "productType": product["product_type"],
            "status": str(product["status"]).upper(),
            "tags": _tags(product.get("tags")),
            "createdAt": product["created_at"],
            "updatedAt": product["updated_at"],
            "_product": product,
        }

    def variant_node(self, product: Json, variant: Json) -> Json:
        return {
            "__typename": "ProductVariant",
            "id": variant["admin_graphql_api_id"],
            "legacyResourceId": variant["id"],
            "title": variant["title"],
            "sku": variant.get("sku") or None,
            "price": variant["price"],
            "inventoryQuantity": variant.get("inventory_quantity"),
            "createdAt": variant["created_at"],
            "updatedAt": variant["updated_at"],
            "_product": product,
        }

    def hook_node(self, hook: Json) -> Json:
        topic = next(k for k, v in TOPICS.items() if v == hook["topic"])
        return {
            "__typename": "WebhookSubscription",
            "id": gid("WebhookSubscription", hook["id"]),
            "topic": topic,
            "format": str(hook.get("format") or "json").upper(),
            "callbackUrl": hook["address"],
            "endpoint": {"callbackUrl": hook["address"]},
            "includeFields": hook.get("fields") or [],
            "createdAt": hook["created_at"],
            "updatedAt": hook["updated_at"],
        }

    def by_gid(self, value: str, kind: str | None = None) -> Json | None:
        parts = gid_parts(value)
        if parts is None or (kind and parts[0] != kind):
            return None
        collection = {"Order": "orders", "Customer": "customers", "Product": "products"}.get(parts[0])
        found = self.store.get(collection, parts[1]) if collection else None
        if found is None:
            return None
        makers = {"orders": self.order_node, "customers": self.customer_node, "products": self.product_node}
        return makers[str(collection)](found)

    # --- the request ---

    def run(self, query: str, variables: dict[str, Any] | None, operation: str | None) -> tuple[Json, float]:
        """The answer to one GraphQL request and its actual cost (the bucket is charged here)."""
        try:
            document = parse(query)
        except GraphQLError as error:
            return {"errors": [_error(error)]}, 0
        problems = validate(self.schema, document)
        if problems:
            return {"errors": [_error(p) for p in problems]}, 0
        requested = _cost(self.schema, document, variables or {}, operation)
        if requested > MAX_COST:
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost limit ({MAX_COST})."
            )
            return {
                "errors": [
                    {
                        "message": message,
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_COST},
                    }
                ]
            }, 0
        if not self.bucket.take(requested):
            throttled = {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
            return {"errors": [throttled], "extensions": {"cost": self._cost_info(requested, None)}}, 0
        result = execute_sync(self.schema, document, variable_values=variables, operation_name=operation)
        actual = min(requested, _actual(result.data))
        self.bucket.give_back(requested - actual)
        answer: Json = {}
        if result.errors:
            answer["errors"] = [_error(e) for e in result.errors]
        answer["data"] = result.data
        answer["extensions"] = {"cost": self._cost_info(requested, actual)}
        return answer, actual

    def _cost_info(self, requested: int, actual: float | None) -> Json:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": BUCKET,
                "currentlyAvailable": round(self.bucket.available, 1),
                "restoreRate": RESTORE,
            },
        }


def _error(error: GraphQLError) -> Json:
    shown: Json = {"message": error.message}
    if error.locations:
        shown["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        shown["path"] = list(error.path)
    shown["extensions"] = error.extensions or {"code": "GRAPHQL_VALIDATION_FAILED"}
    return shown


# --- resolvers ---


def _page(items: list[Json], args: dict[str, Any], node: Callable[[Json], Json]) -> Json:
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
    if (first or 0) > PAGE_MAX or (last or 0) > PAGE_MAX:
        raise GraphQLError(f"The maximum page size is {PAGE_MAX}", extensions={"code": "BAD_REQUEST"})
    if args.get("reverse"):
        items = list(reversed(items))

    def cursor(record: Json) -> str:
        return Cursor.encode({"last_id": record.get("_cursor", record.get("id"))})

    edges, info = connection(items, cursor, first, args.get("after"), last, args.get("before"))
    nodes = [node(record) for _, record in edges]
    return {
        "edges": [{"cursor": c, "node": n} for (c, _), n in zip(edges, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": info,
    }


def _schema(shop: Graph) -> GraphQLSchema:
    schema = build_schema(SDL)

    def resolver(type_name: str, field: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            owner = schema.get_type(type_name)
            assert isinstance(owner, GraphQLObjectType)
            owner.fields[field].resolve = function
            return function

        return register

    def listing(kind: str, node: Callable[[Json], Json]) -> Callable[..., Json]:
        def resolve(_: Any, info: Any, **args: Any) -> Json:
            records = shop.matching(kind, args.get("query"))
            records.sort(key=_SORTS[args.get("sortKey") or "ID"])
            return _page(records, args, node)

        return resolve

    resolver("QueryRoot", "orders")(listing("orders", shop.order_node))
    resolver("QueryRoot", "customers")(listing("customers", shop.customer_node))
    resolver("QueryRoot", "products")(listing("products", shop.product_node))
    resolver("QueryRoot", "order")(lambda _, info, id: shop.by_gid(id, "Order"))
    resolver("QueryRoot", "customer")(lambda _, info, id: shop.by_gid(id, "Customer"))
    resolver("QueryRoot", "product")(lambda _, info, id: shop.by_gid(id, "Product"))
    resolver("QueryRoot", "node")(lambda _, info, id: shop.by_gid(id))
    resolver("QueryRoot", "shop")(
        lambda _, info: {
            "id": "gid://shopify/Shop/548380009",
            "name": shop.shop()["name"],
            "email": shop.shop()["email"],
            "myshopifyDomain": shop.domain,
            "currencyCode": "USD",
        }
    )

    @resolver("QueryRoot", "webhookSubscriptions")
    def hooks(_: Any, info: Any, **args: Any) -> Json:
        topics = {TOPICS[t] for t in args.get("topics") or TOPICS}
        return _page([h for h in shop.store.all("webhooks") if h["topic"] in topics], args, shop.hook_node)

    resolver("Order", "lineItems")(lambda order, info, **args: _page(order["_lines"], args, lambda n: n))
    resolver("Product", "variants")(
        lambda product, info, **args: _page(
            [v | {"_cursor": v["id"]} for v in product["_product"]["variants"]],
            args,
            lambda v: shop.variant_node(product["_product"], v),
        )
    )
    resolver("ProductVariant", "product")(lambda variant, info: shop.product_node(variant["_product"]))
    resolver("Customer", "orders")(
        lambda customer, info, **args: _page(
            [o for o in shop.store.all("orders") if (o.get("customer") or {}).get("id") == customer["_id"]],
            args,
            shop.order_node,
        )
    )

    @resolver("Mutation", "customerCreate")
    def customer_create(_: Any, info: Any, input: Json) -> Json:
        try:
            return {
                "customer": shop.customer_node(shop.create_customer(_customer_values(input))),
                "userErrors": [],
            }
        except InvalidRecord as invalid:
            return {"customer": None, "userErrors": _user_errors(invalid)}

    @resolver("Mutation", "customerUpdate")
    def customer_update(_: Any, info: Any, input: Json) -> Json:
        parts = gid_parts(str(input.get("id") or ""))
        if parts is None or parts[0] != "Customer":
            return {"customer": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
        try:
            updated = shop.update_customer(parts[1], _customer_values(input))
        except InvalidRecord as invalid:
            return {"customer": None, "userErrors": _user_errors(invalid)}
        if updated is None:
            return {"customer": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
        return {"customer": shop.customer_node(updated), "userErrors": []}

    @resolver("Mutation", "webhookSubscriptionCreate")
    def hook_create(_: Any, info: Any, topic: str, webhookSubscription: Json) -> Json:
        url = str(webhookSubscription.get("callbackUrl") or "")
        try:
            hook = shop.subscribe(
                TOPICS[topic],
                url,
                str(webhookSubscription.get("format") or "JSON").lower(),
                list(webhookSubscription.get("includeFields") or []),
            )
        except InvalidRecord as invalid:
            errors = [
                {"field": ["webhookSubscription", "callbackUrl"], "message": m}
                for messages in invalid.errors.values()
                for m in messages
            ]
            return {"webhookSubscription": None, "userErrors": errors}
        return {"webhookSubscription": shop.hook_node(hook), "userErrors": []}

    @resolver("Mutation", "webhookSubscriptionDelete")
    def hook_delete(_: Any, info: Any, id: str) -> Json:
        parts = gid_parts(id)
        if parts is None or shop.store.delete("webhooks", parts[1]) is None:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
            }
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}

    node = schema.get_type("Node")
    assert node is not None
    node.resolve_type = lambda value, info, abstract: value["__typename"]  # type: ignore[attr-defined]
    return schema


def _customer_values(given: Json) -> Json:
    names = {
        "email": "email",
        "phone": "phone",
        "firstName": "first_name",
        "lastName": "last_name",
        "note": "note",
    }
    values = {rest: given[key] for key, rest in names.items() if key in given}
    if "tags" in given:
        values["tags"] = ", ".join(given["tags"] or [])
    if given.get("addresses"):
        values["addresses"] = [
            {
                "address1": a.get("address1"),
                "address2": a.get("address2"),
                "city": a.get("city"),
                "province": a.get("province"),
                "zip": a.get("zip"),
                "country": a.get("country"),
                "company": a.get("company"),
                "first_name": a.get("firstName"),
                "last_name": a.get("lastName"),
                "phone": a.get("phone"),
            }
            for a in given["addresses"]
        ]
    return values


def _user_errors(invalid: InvalidRecord) -> list[Json]:
    camel = {"first_name": "firstName", "last_name": "lastName"}
    return [
        {"field": [camel.get(field, field)], "message": f"{camel.get(field, field).capitalize()} {message}"}
        for field, messages in invalid.errors.items()
        for message in messages
    ]


# --- cost ---


def _cost(schema: GraphQLSchema, document: Any, variables: dict[str, Any], operation: str | None) -> int:
    """Shopify's requested cost: 0 for scalars and enums, 1 per object, a connection ``2 + n x node`` with
    ``n`` its ``first``/``last``, 10 per mutation field."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (o for o in operations if operation is None or (o.name and o.name.value == operation)), None
    )
    if chosen is None:
        return 0
    root = schema.mutation_type if chosen.operation.value == "mutation" else schema.query_type
    assert root is not None
    if chosen.operation.value == "mutation":
        return 10 * len(chosen.selection_set.selections)

    def fields(
        selection_set: SelectionSetNode | None, parent: GraphQLNamedType
    ) -> list[tuple[FieldNode, GraphQLField]]:
        found: list[tuple[FieldNode, GraphQLField]] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode) and isinstance(parent, GraphQLObjectType | Any):
                definition = getattr(parent, "fields", {}).get(selection.name.value)
                if definition is not None:
                    found.append((selection, definition))
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                found += fields(selection.selection_set, condition or parent)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
                fragment = fragments[selection.name.value]
                found += fields(
                    fragment.selection_set, schema.get_type(fragment.type_condition.name.value) or parent
                )
        return found

    def cost(selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        total = 0
        for node, definition in fields(selection_set, parent):
            named = get_named_type(definition.type)
            if is_leaf_type(named):
                continue
            if named.name.endswith("Connection"):
                size = 0
                for argument in node.arguments or ():
                    if argument.name.value in ("first", "last"):
                        size = int(value_from_ast_untyped(argument.value, variables) or 0)
                inner = max(
                    (
                        1 + cost(child.selection_set, get_named_type(child_def.type))
                        for child, child_def in fields(node.selection_set, named)
                        if child.name.value in ("edges", "nodes")
                    ),
                    default=1,
                )
                total += 2 + size * (inner - 1 if inner > 1 else 1)
            else:
                total += 1 + cost(node.selection_set, named)
        return total

    return cost(chosen.selection_set, root)


def _actual(data: Any) -> int:
    """What the answer actually held: one point per object returned."""
    if isinstance(data, dict):
        return (1 if data else 0) + sum(_actual(value) for value in data.values())
    if isinstance(data, list):
        return sum(_actual(item) for item in data)
    return 0
