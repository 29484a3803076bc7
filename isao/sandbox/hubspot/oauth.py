"""OAuth v1: the token endpoint, an at-once consent screen and token introspection and revocation."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from isao.sandbox.hubspot.answers import _Json
from isao.sandbox.hubspot.constants import APP_ID, CLIENT_ID, CLIENT_SECRET, PORTAL_ID, SCOPES, TOKEN_TTL
from isao.sandbox.hubspot.core import _Core
from isao.sandbox.kit.oauth2 import Refused


class OAuthEndpoints(_Core):
    # --- OAuth ---

    async def _token(self, request: Request) -> Response:
        """``POST /oauth/v1/token``: form fields (the spec also allows some in the query)."""
        raw = (await request.body()).decode("utf-8", "replace")
        params = dict(request.query_params) | dict(parse_qsl(raw, keep_blank_values=True))
        grant = params.get("grant_type")
        if grant not in ("refresh_token", "authorization_code"):
            return self._oauth_error("BAD_GRANT_TYPE", "missing or unknown grant type")
        client_id = params.get("client_id")
        if client_id != CLIENT_ID:
            return self._oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if params.get("client_secret") != CLIENT_SECRET:
            return self._oauth_error("BAD_CLIENT_SECRET", "missing or unknown client secret")
        ttl = self.gate.token_ttl(TOKEN_TTL)
        if grant == "refresh_token":
            issued = self.tokens.refresh(params.get("refresh_token", ""), client_id, ttl)
            if isinstance(issued, Refused):
                return self._oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        else:
            exchanged = self.tokens.exchange(
                params.get("code", ""), client_id, params.get("redirect_uri", ""), ttl
            )
            if isinstance(exchanged, Refused):
                return self._oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
            if exchanged == "bad_redirect_uri":
                return self._oauth_error("BAD_REDIRECT_URI", "redirect_uri does not match the one authorized")
            issued = exchanged
        return _Json(
            {
                "token_type": "bearer",
                "refresh_token": issued.refresh_token,
                "access_token": issued.access_token,
                "expires_in": issued.expires_in,
            }
        )

    @staticmethod
    def _oauth_error(status: str, message: str) -> Response:
        return _Json(
            {"status": status, "message": message, "correlationId": str(uuid.uuid4())}, status_code=400
        )

    async def _authorize(self, request: Request) -> Response:
        """The consent screen, consented at once: redirects with a code, so OAuth can be rehearsed offline."""
        params = request.query_params
        if params.get("client_id") != CLIENT_ID or not params.get("redirect_uri"):
            return self._oauth_error("BAD_CLIENT_ID", "missing or unknown client id, or no redirect_uri")
        code = self.tokens.grant_code(CLIENT_ID, params["redirect_uri"], SCOPES)
        query = {"code": code} | ({"state": params["state"]} if params.get("state") else {})
        separator = "&" if urlsplit(params["redirect_uri"]).query else "?"
        return RedirectResponse(params["redirect_uri"] + separator + urlencode(query), status_code=302)

    async def _access_token_info(self, request: Request) -> Response:
        token = request.path_params["token"]
        if self.tokens.check(token) != "valid":
            return _Json(
                {
                    "status": "error",
                    "message": "Token not found or expired",
                    "correlationId": str(uuid.uuid4()),
                    "category": "OBJECT_NOT_FOUND",
                },
                status_code=404,
            )
        return _Json(
            {
                "token": token,
                "user": "sandbox@example.com",
                "hub_domain": "sandbox.example.com",
                "scopes": SCOPES,
                "hub_id": PORTAL_ID,
                "app_id": APP_ID,
                "expires_in": self.tokens.remaining(token),
                "user_id": 1001,
                "token_type": "access",
            }
        )

    async def _refresh_token_info(self, request: Request) -> Response:
        token = request.path_params["token"]
        if token not in self.tokens.refresh_tokens:
            return _Json(
                {
                    "status": "error",
                    "message": "refresh token not found",
                    "correlationId": str(uuid.uuid4()),
                    "category": "OBJECT_NOT_FOUND",
                },
                status_code=404,
            )
        if request.method == "DELETE":
            self.tokens.revoke(token)
            return Response(status_code=204)
        return _Json(
            {
                "token": token,
                "user": "sandbox@example.com",
                "hub_domain": "sandbox.example.com",
                "scopes": SCOPES,
                "hub_id": PORTAL_ID,
                "client_id": self.tokens.refresh_tokens[token].client_id,
                "user_id": 1001,
                "token_type": "refresh",
            }
        )
