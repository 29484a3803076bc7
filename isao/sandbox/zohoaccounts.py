"""Zoho's accounts server, shared by the sandboxes of every Zoho product (CRM, Books, Desk, Projects).

One client and one refresh token hold the scopes of all products, as a Zoho API console client does when
its grant named them all. An access token minted at any product's ``/oauth/v2/token`` is valid at every
product whose scope it carries, and the refresh token mints at most ten access tokens in any ten minutes
across all of them (Zoho "Token Validity"): the eleventh is refused with ``Access Denied``.

A product's sandbox subclasses ``ZohoProduct``, names its ``scope`` prefix (``ZohoCRM.``, ``ZohoBooks.``…)
and calls ``zoho_auth`` on each request. ``isao sandbox up`` gives every Zoho sandbox it starts the same
authority (``family = "zoho"``); a sandbox built alone makes its own.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.base import Sandbox
from isao.sandbox.kit.oauth2 import Authority, Refused, form_and_query

CLIENT_ID = "1000.SANDBOXZOHOCRMISAO0000000000000"
CLIENT_SECRET = hashlib.sha256(b"isao-sandbox-zohocrm-client-secret").hexdigest()[:42]
REFRESH_TOKEN = (
    "1000."
    + hashlib.md5(b"isao-sandbox-zohocrm-refresh").hexdigest()  # noqa: S324 - a fixed fixture
    + "."
    + hashlib.md5(b"isao-sandbox-zohocrm-refresh-2").hexdigest()  # noqa: S324
)
ACCESS_TOKEN_TTL = 3600
REFRESH_LIMIT, REFRESH_WINDOW = 10, 600.0
CRM_SCOPES = "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.notifications.ALL ZohoCRM.org.READ"
SCOPES = (
    f"{CRM_SCOPES} ZohoBooks.fullaccess.all Desk.tickets.ALL Desk.contacts.ALL Desk.basic.READ "
    "Desk.settings.READ Desk.events.ALL ZohoProjects.portals.READ ZohoProjects.projects.ALL "
    "ZohoProjects.tasks.ALL"
)
"""What the fixed refresh token was granted: every product's scopes."""


def new_accounts(clock: Callable[[], float] = time.time) -> Authority:
    accounts = Authority(
        ACCESS_TOKEN_TTL, clock=clock, prefix="1000.", mint_limit=(REFRESH_LIMIT, REFRESH_WINDOW)
    )
    accounts.add_client(CLIENT_ID, CLIENT_SECRET)
    accounts.add_refresh_token(REFRESH_TOKEN, CLIENT_ID, SCOPES.split(), fixed=True)
    return accounts


def zoho_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json;charset=UTF-8")


class ZohoProduct(Sandbox):
    """A Zoho product's sandbox: the accounts server's token endpoint, and its product's token check."""

    family: ClassVar[str | None] = "zoho"
    scope: ClassVar[str] = "ZohoCRM."
    CLIENT_ID: ClassVar[str] = CLIENT_ID
    CLIENT_SECRET: ClassVar[str] = CLIENT_SECRET
    REFRESH_TOKEN: ClassVar[str] = REFRESH_TOKEN

    def __init__(self, *, accounts: Authority | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock: Callable[[], float] = time.time
        """Wall clock for timestamps, token expiry and throttles (tests may replace it)."""
        self.tokens = accounts or new_accounts(lambda: self.clock())

    @staticmethod
    def new_shared() -> Authority:
        return new_accounts()

    def credentials(self) -> dict[str, str]:
        return {
            "base_url": self.base_url,
            "accounts_url": self.base_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        }

    def exempt(self, request: Request) -> bool:
        return super().exempt(request) or request.url.path.startswith("/oauth/")

    def zoho_auth(self, request: Request) -> Literal["missing", "invalid"] | None:
        """``Zoho-oauthtoken`` only: a missing header is ``missing``; an unknown or expired token, or one
        without this product's scope, is ``invalid``."""
        given = request.headers.get("authorization")
        if not given or not given.startswith("Zoho-oauthtoken "):
            return "missing"
        token = given.removeprefix("Zoho-oauthtoken ").strip()
        return None if self.tokens.check(token, self.scope) == "valid" else "invalid"

    async def _token(self, request: Request) -> Response:
        """``POST /oauth/v2/token``: parameters in the query string or a form body, as Zoho accepts both.
        Failures are HTTP 200 with ``{"error": …}``: Zoho's SDK detects them by the missing token."""
        content_type = request.headers.get("content-type", "")
        body = await request.body() if "application/x-www-form-urlencoded" in content_type else b""
        params = form_and_query(request.query_params.multi_items(), body, content_type)
        grant = params.get("grant_type")
        if grant not in ("refresh_token", "authorization_code"):
            return zoho_json({"error": "unsupported_grant_type"})
        client_id = params.get("client_id", "")
        if not self.tokens.client_ok(client_id, params.get("client_secret")):
            return zoho_json({"error": "invalid_client"})
        if grant == "authorization_code":
            return zoho_json({"error": "invalid_code"})
        issued = self.tokens.refresh(
            params.get("refresh_token", ""), client_id, self.gate.token_ttl(ACCESS_TOKEN_TTL)
        )
        if isinstance(issued, Refused) and issued.reason == "throttled":
            return zoho_json(
                {
                    "error_description": "You have made too many requests continuously. "
                    "Please try again after some time.",
                    "error": "Access Denied",
                    "status": "failure",
                },
                400,
            )
        if isinstance(issued, Refused):
            return zoho_json({"error": "invalid_code"})
        return zoho_json(
            {
                "access_token": issued.access_token,
                "scope": " ".join(issued.scopes),
                "api_domain": self.base_url,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            }
        )
