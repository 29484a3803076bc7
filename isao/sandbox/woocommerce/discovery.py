"""The discovery routes: the REST index ``/`` and the namespace index ``/wc/v3``."""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.responses import Response

from isao.sandbox.woocommerce.call import _Call
from isao.sandbox.woocommerce.constants import NAMESPACE
from isao.sandbox.woocommerce.core import _Core
from isao.sandbox.woocommerce.replies import _reply


class IndexEndpoints(_Core):
    """``GET /wp-json/`` and ``GET /wp-json/wc/v3``."""

    # --- index routes ---------------------------------------------------------------------------------

    _ROUTES: ClassVar[dict[str, list[str]]] = {
        "/wc/v3/orders": ["GET", "POST"],
        "/wc/v3/orders/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/wc/v3/orders/batch": ["POST", "PUT", "PATCH"],
        "/wc/v3/customers": ["GET", "POST"],
        "/wc/v3/customers/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/wc/v3/customers/batch": ["POST", "PUT", "PATCH"],
        "/wc/v3/products": ["GET", "POST"],
        "/wc/v3/products/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "/wc/v3/products/batch": ["POST", "PUT", "PATCH"],
        "/wc/v3/webhooks": ["GET", "POST"],
        "/wc/v3/webhooks/(?P<id>[\\d]+)": ["GET", "POST", "PUT", "PATCH", "DELETE"],
    }

    def _route_map(self) -> dict[str, Any]:
        return {
            route: {
                "namespace": NAMESPACE,
                "methods": methods,
                "endpoints": [{"methods": methods, "args": {}}],
            }
            for route, methods in self._ROUTES.items()
        }

    async def _index(self, call: _Call) -> Response:
        return _reply(
            {
                "name": "ISAO WooCommerce sandbox",
                "description": "Just another WordPress site",
                "url": self.base_url,
                "home": self.base_url,
                "gmt_offset": "0",
                "timezone_string": "",
                "namespaces": [NAMESPACE],
                "authentication": [],
                "routes": {f"/{NAMESPACE}": {"namespace": NAMESPACE, "methods": ["GET"]}} | self._route_map(),
            }
        )

    async def _namespace(self, call: _Call) -> Response:
        return _reply({"namespace": NAMESPACE, "routes": self._route_map()})
