"""What goes back on the wire: ``wp_json_encode`` bytes, ``WP_Error`` bodies and the JSON responses
WordPress' REST server sends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

# --- WordPress wire helpers -------------------------------------------------------------------------


def wp_json(value: Any) -> bytes:
    """``wp_json_encode`` with no flags: compact, ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``.

    Every REST answer and every webhook body goes through it, so signatures cover these exact bytes.
    """
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


class WPError(Exception):
    """A ``WP_Error`` as the REST server serialises it: ``{"code","message","data":{"status",…}}``."""

    def __init__(
        self, code: str, message: str, status: int, headers: Mapping[str, str] | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.headers = dict(headers or {})
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def _no_route() -> WPError:
    return WPError("rest_no_route", "No route was found matching the URL and request method.", 404)


def _invalid_params(errors: Mapping[str, tuple[str, str]]) -> WPError:
    return WPError(
        "rest_invalid_param",
        "Invalid parameter(s): " + ", ".join(errors),
        400,
        params={name: message for name, (_, message) in errors.items()},
        details={
            name: {"code": code, "message": message, "data": None} for name, (code, message) in errors.items()
        },
    )


def _missing_params(names: list[str]) -> WPError:
    return WPError(
        "rest_missing_callback_param", "Missing parameter(s): " + ", ".join(names), 400, params=names
    )


def _auth_error(message: str, headers: Mapping[str, str] | None = None) -> WPError:
    return WPError("woocommerce_rest_authentication_error", message, 401, headers)


def _reply(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    base = {
        "X-Robots-Tag": "noindex",
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
        "Access-Control-Allow-Headers": (
            "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"
        ),
    }
    return Response(
        wp_json(payload),
        status_code=status,
        headers=base | dict(headers or {}),
        media_type="application/json; charset=UTF-8",
    )
