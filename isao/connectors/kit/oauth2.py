"""The refresh-token grant, as every OAuth 2 provider here answers it: an access token, its lifetime, and
sometimes a new refresh token (Shopify rotates it on every use) or fields to keep (Salesforce's
``instance_url``, Zoho's ``api_domain``). A refused refresh is permanent (``Invalid``), never "refresh
and retry"; a throttled one waits (``RateLimited``); a token endpoint that is down is ``Transient``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from isao.connectors.base import ApiClient, json_body, retry_after, summary_of_response
from isao.errors import Invalid, ProviderError, RateLimited, Transient

SECRET_FIELDS = {"client_secret", "refresh_token", "code", "password"}

Refusal = Callable[[httpx.Response, Any, dict[str, Any], dict[str, Any]], ProviderError | None]
"""(response, its JSON, request summary, response summary) → the error, or None for the default reading."""


def refresh(
    client: ApiClient,
    url: str,
    form: Mapping[str, Any],
    *,
    as_json: bool = False,
    lifetime: float | None = 3600.0,
    keep: tuple[str, ...] = (),
    refused: Refusal | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """POST ``form`` to ``url``; the secrets to store: ``access_token``, ``expires_at`` (from
    ``expires_in``, else ``lifetime``; None when neither is known), a rotated ``refresh_token`` and the
    ``keep`` fields present in the answer."""
    provider = client.provider
    sent = {
        "method": "POST",
        "url": url,
        "body": {k: "***" if k in SECRET_FIELDS else v for k, v in form.items()},
    }
    missing = [name for name, value in form.items() if not value]
    if missing:
        raise Invalid(f"{provider}: OAuth needs {', '.join(missing)}", request=sent)
    try:
        accept = {"Accept": "application/json", **(headers or {})}
        if as_json:
            response = client.http.post(url, json=dict(form), headers=accept)
        else:
            response = client.http.post(url, data=dict(form), headers=accept)
    except httpx.TimeoutException as exc:
        raise Transient(f"{provider}: token refresh timed out: {exc}", request=sent) from exc
    except httpx.TransportError as exc:
        raise Transient(
            f"{provider}: token refresh failed: {type(exc).__name__}: {exc}", request=sent
        ) from exc
    body, reply = json_body(response), summary_of_response(response)
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code < 400 and isinstance(token, str) and token:
        assert isinstance(body, dict)
        expires_in = body.get("expires_in") or lifetime
        minted: dict[str, Any] = {
            "access_token": token,
            "expires_at": client.clock() + float(expires_in) if expires_in else None,
        }
        for name in ("refresh_token", *keep):
            if isinstance(body.get(name), str) and body[name]:
                minted[name] = body[name]
        return minted
    error = refused(response, body, sent, reply) if refused is not None else None
    if error is not None:
        raise error
    message = f"{provider}: the token endpoint refused the refresh ({response.status_code})"
    if response.status_code == 429:
        raise RateLimited(
            message, retry_after(response, client.default_retry_after), request=sent, response=reply
        )
    if response.status_code >= 500:
        raise Transient(message, request=sent, response=reply)
    raise Invalid(message, details=body, request=sent, response=reply)
