"""The accounts server's ``/oauth/v2/token``, with Zoho's refresh throttle."""

from __future__ import annotations

from collections import deque
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from isao.sandbox.zohocrm.answers import _json
from isao.sandbox.zohocrm.constants import ACCESS_TOKEN_TTL, REFRESH_LIMIT, REFRESH_WINDOW, SCOPES
from isao.sandbox.zohocrm.core import _Core


class OAuthEndpoints(_Core):
    async def _token(self, request: Request) -> Response:
        """``POST /oauth/v2/token``: parameters in the query string or a form body, as Zoho accepts both.
        Failures are HTTP 200 with ``{"error": …}``: Zoho's SDK detects them by the missing token."""
        params = dict(request.query_params)
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            params.update(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant = params.get("grant_type")
        if grant not in ("refresh_token", "authorization_code"):
            return _json({"error": "unsupported_grant_type"})
        client_id = params.get("client_id", "")
        if self.clients.get(client_id) is None or self.clients[client_id] != params.get("client_secret"):
            return _json({"error": "invalid_client"})
        refresh = params.get("refresh_token", "")
        if grant == "authorization_code" or self.tokens.refresh_tokens.get(refresh) != client_id:
            return _json({"error": "invalid_code"})
        now = self.clock()
        minted = self._minted.setdefault(refresh, deque())
        while minted and now - minted[0] >= REFRESH_WINDOW:
            minted.popleft()
        if len(minted) >= REFRESH_LIMIT:
            return _json(
                {
                    "error_description": "You have made too many requests continuously. "
                    "Please try again after some time.",
                    "error": "Access Denied",
                    "status": "failure",
                },
                400,
            )
        minted.append(now)
        ttl = self.gate.token_ttl(ACCESS_TOKEN_TTL)
        return _json(
            {
                "access_token": self.tokens.issue(refresh, ttl, "1000."),
                "scope": SCOPES,
                "api_domain": self.base_url,
                "token_type": "Bearer",
                "expires_in": ttl,
            }
        )
