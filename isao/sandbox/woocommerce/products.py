"""Products: the demo catalogue, writing products, their derived fields (price, stock status), SKUs
and slugs."""

from __future__ import annotations

from typing import Any

from isao.sandbox.woocommerce.call import _event
from isao.sandbox.woocommerce.constants import _CURRENCIES, _DEMO_PRODUCTS
from isao.sandbox.woocommerce.core import _Core, _meta
from isao.sandbox.woocommerce.formats import _decimal, _format_decimal, _money, _sanitize_title
from isao.sandbox.woocommerce.replies import WPError
from isao.sandbox.woocommerce.schema import PRODUCT_SPECS, _validate


class ProductRecords(_Core):
    """Creating and updating products, and the fixtures made of them."""

    # --- fixtures ------------------------------------------------------------------------------------

    def _fixtures(self) -> None:
        for name, sku, price, stock in _DEMO_PRODUCTS:
            self._insert_product(
                {
                    "name": name,
                    "sku": sku,
                    "regular_price": price,
                    "manage_stock": True,
                    "stock_quantity": stock,
                }
            )

    def seed_products(
        self, count: int, *, prefix: str = "DEMO", price: str = "10.00", stock: int = 100
    ) -> list[dict[str, Any]]:
        """Add ``count`` published products with fresh SKUs ``{prefix}-{n}`` and managed stock, so orders
        can reference them; fires no webhooks (as an import would not)."""
        taken = {str(p["sku"]) for p in self.store.all("products")}
        made: list[dict[str, Any]] = []
        number = 1
        while len(made) < count:
            sku = f"{prefix}-{number}"
            number += 1
            if sku in taken:
                continue
            body = {
                "name": f"Demo product {sku}",
                "sku": sku,
                "regular_price": price,
                "manage_stock": True,
                "stock_quantity": stock,
            }
            made.append(self._render("products", self._insert_product(body)))
        return made

    def _insert_product(self, body: dict[str, Any]) -> dict[str, Any]:
        product = self._write_product(None, _validate(body, PRODUCT_SPECS), [])
        return product

    # --- products ---------------------------------------------------------------------------------------

    def _write_product(
        self, existing: dict[str, Any] | None, values: dict[str, Any], events: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        creating = existing is None
        product = existing if existing is not None else self._new_product()
        if "sku" in values:
            sku = values["sku"].strip()
            if sku:
                owner = self._product_by_sku(sku, exclude=product["id"])
                if owner is not None:
                    raise WPError(
                        "product_invalid_sku",
                        "Invalid or duplicated SKU.",
                        400,
                        resource_id=owner["id"],
                        unique_sku=self._unique_sku(sku, product["id"]),
                    )
            product["sku"] = sku
        for name in (
            "name",
            "type",
            "status",
            "featured",
            "catalog_visibility",
            "description",
            "short_description",
            "virtual",
            "downloadable",
            "tax_status",
            "tax_class",
            "backorders",
            "low_stock_amount",
            "sold_individually",
            "weight",
            "reviews_allowed",
            "parent_id",
            "purchase_note",
            "menu_order",
        ):
            if name in values:
                product[name] = values[name]
        if creating and not product["name"]:
            product["name"] = "Product"
        if "slug" in values or creating:
            product["slug"] = self._unique_slug(values.get("slug") or product["name"], product["id"])
        for name in ("regular_price", "sale_price"):
            if name in values:
                product[name] = _format_decimal(values[name])
        if "dimensions" in values:
            product["dimensions"] = {
                k: str(values["dimensions"].get(k, product["dimensions"][k]))
                for k in ("length", "width", "height")
            }
        for name in ("categories", "tags"):
            if name in values:
                product[name] = [
                    {
                        "id": int(term.get("id", 0)),
                        "name": str(term.get("name", "")),
                        "slug": str(term.get("slug", "")),
                    }
                    for term in values[name]
                    if isinstance(term, dict)
                ]
        if "images" in values:
            product["images"] = [
                {
                    "id": int(image.get("id") or self.store.next_id("attachments", 1000)),
                    "src": str(image.get("src", "")),
                    "name": str(image.get("name", "")),
                    "alt": str(image.get("alt", "")),
                }
                for image in values["images"]
                if isinstance(image, dict)
            ]
        if "meta_data" in values:
            product["meta_data"] = _meta(product["meta_data"], values["meta_data"], self._meta_id)
        if "manage_stock" in values:
            product["manage_stock"] = values["manage_stock"]
        if "stock_quantity" in values and product["manage_stock"]:
            product["stock_quantity"] = values["stock_quantity"]
        if "stock_status" in values:
            product["stock_status"] = values["stock_status"]
        self._product_derived(product)
        if not creating:
            self._touch(product)
        self.store.put("products", product["id"], product)
        _event(events, "product", "created" if creating else "updated", product["id"])
        return product

    def _new_product(self) -> dict[str, Any]:
        now = int(self.clock())
        id_ = self.store.next_id("posts", 10)
        return {
            "id": id_,
            "name": "",
            "slug": "",
            "permalink": "",
            **self._dates(now),
            "type": "simple",
            "status": "publish",
            "featured": False,
            "catalog_visibility": "visible",
            "description": "",
            "short_description": "",
            "sku": "",
            "price": "",
            "regular_price": "",
            "sale_price": "",
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "on_sale": False,
            "purchasable": False,
            "total_sales": 0,
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": False,
            "stock_quantity": None,
            "backorders": "no",
            "backorders_allowed": False,
            "backordered": False,
            "low_stock_amount": None,
            "sold_individually": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": True,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}],
            "tags": [],
            "images": [],
            "attributes": [],
            "default_attributes": [],
            "variations": [],
            "grouped_products": [],
            "menu_order": 0,
            "price_html": "",
            "related_ids": [],
            "meta_data": [],
            "stock_status": "instock",
            "has_options": False,
            "post_password": "",
            "global_unique_id": "",
            "_created": now,
            "_modified": now,
        }

    def _product_derived(self, product: dict[str, Any]) -> None:
        regular, sale = product["regular_price"], product["sale_price"]
        on_sale = bool(sale) and (not regular or _decimal(sale) < _decimal(regular))
        product["price"] = sale if on_sale else regular
        product["on_sale"] = on_sale
        product["purchasable"] = product["price"] != "" and product["status"] == "publish"
        product["shipping_required"] = not product["virtual"]
        product["backorders_allowed"] = product["backorders"] != "no"
        if product["manage_stock"]:
            quantity = product["stock_quantity"] if product["stock_quantity"] is not None else 0
            product["stock_quantity"] = quantity
            if quantity > 0:
                product["stock_status"] = "instock"
            else:
                product["stock_status"] = "onbackorder" if product["backorders_allowed"] else "outofstock"
            product["backordered"] = quantity < 0 and product["backorders_allowed"]
        else:
            product["stock_quantity"] = None
            product["backordered"] = False
        symbol = _CURRENCIES["USD"]
        product["price_html"] = (
            '<span class="woocommerce-Price-amount amount"><bdi>'
            f'<span class="woocommerce-Price-currencySymbol">'
            f"{symbol}</span>{_money(_decimal(product['price']))}</bdi></span>"
            if product["price"]
            else ""
        )

    def _product_by_sku(self, sku: str, exclude: int | None = None) -> dict[str, Any] | None:
        for product in self.store.all("products"):
            if product["sku"] == sku and product["status"] != "trash" and product["id"] != exclude:
                return product
        return None

    def _unique_sku(self, sku: str, exclude: int) -> str:
        number = 1
        while self._product_by_sku(f"{sku}-{number}", exclude) is not None:
            number += 1
        return f"{sku}-{number}"

    def _unique_slug(self, text: str, exclude: int) -> str:
        base = _sanitize_title(text)
        taken = {p["slug"] for p in self.store.all("products") if p["id"] != exclude}
        slug, number = base, 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        return slug
