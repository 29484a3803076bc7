"""What every provider's API client shares: credentials with single-flight token refresh, one HTTP call with
what was sent and what came back kept for the dead-letter queue, and the shapes the sync engine consumes.

A provider module subclasses ``ApiClient`` and says three things: how to authenticate a request
(``auth_headers``), how to mint a new access token if it has OAuth (``mint_token``), and how its failures map
onto ``isao.errors`` (``classify``).
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import httpx
import orjson

from isao.connectors.transport import StdlibTransport
from isao.errors import AuthExpired, Invalid, NotFound, ProviderError, RateLimited, Transient

REFRESH_SKEW = 60.0
"""Refresh this many seconds before ``expires_at`` (HubSpot: a 401 is not a reliable refresh signal)."""
_KEPT = 4096
_KEPT_CALLS = 20
Mint = Callable[[dict[str, Any]], dict[str, Any]]


# --- Credentials ------------------------------------------------------------------------------------


class Credentials(Protocol):
    """A connection's secrets, e.g. ``{"access_token", "expires_at", "refresh_token", "client_id", …}``.

    ``refresh`` must be single-flight across every worker and process sharing the connection (Zoho blocks a
    refresh token after 10 refreshes in 10 minutes): under one lock, reload; if the stored access token is no
    longer ``stale`` and still fresh, another worker refreshed, so return it; otherwise call ``mint`` with the
    current secrets and store what it returns merged in.
    """

    connection_id: str | None

    def load(self) -> dict[str, Any]: ...

    def refresh(self, stale: str | None, mint: Mint) -> dict[str, Any]: ...


def still_fresh(secrets: Mapping[str, Any], stale: str | None, now: float) -> bool:
    """Whether ``secrets`` hold an access token other than ``stale`` that is not about to expire."""
    token = secrets.get("access_token")
    expires_at = float(secrets.get("expires_at") or 0)
    return bool(token) and token != stale and (not expires_at or expires_at - REFRESH_SKEW > now)


class MemoryCredentials:
    """Credentials held in this process only (the CLI's one-off checks, tests without a database)."""

    def __init__(self, secrets: dict[str, Any], connection_id: str | None = None) -> None:
        self._secrets = dict(secrets)
        self._lock = threading.Lock()
        self.connection_id = connection_id
        self.refreshes = 0

    def load(self) -> dict[str, Any]:
        return dict(self._secrets)

    def refresh(self, stale: str | None, mint: Mint) -> dict[str, Any]:
        with self._lock:
            if still_fresh(self._secrets, stale, time.time()):
                return dict(self._secrets)
            self._secrets |= mint(dict(self._secrets))
            self.refreshes += 1
            return dict(self._secrets)


# --- How a connection to the provider is described -------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One value a connection needs: ``isao connections add`` asks for it, the dashboard shows it."""

    name: str
    help: str
    secret: bool = False
    """Secrets are encrypted at rest and never printed; the rest is plain configuration."""
    required: bool = True
    default: str | None = None


# --- What the sync engine consumes -----------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One record changed at a provider, from a webhook or a poll."""

    object: str
    """The provider's object name as the connector names it: ``orders``, ``contacts``, ``Deals``…"""
    id: str
    action: Literal["created", "updated", "deleted"]
    data: dict[str, Any] | None = None
    """The record when the provider sent it whole (WooCommerce does; HubSpot and Zoho send ids only)."""
    occurred_at: float | None = None
    """Epoch seconds of the change at the provider, when known."""
    fields: tuple[str, ...] = ()
    """The properties the provider says changed (HubSpot ``propertyName``, Zoho ``affected_fields``)."""
    topic: str | None = None
    """The change's own topic when one delivery mixes several (HubSpot batches); else the delivery's."""


@dataclass
class Page:
    records: list[dict[str, Any]]
    cursor: str | None
    """Where the next page starts (an opaque string); None when this was the last page."""
    total: int | None = None


@dataclass
class BatchResult:
    """Per-record outcome of a batch call: ``results`` in input order where the provider says so."""

    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ProviderError] = field(default_factory=list)


class RecordApi(Protocol):
    """The operations every provider's client offers the sync engine, by the same names."""

    def get(self, object: str, id: str) -> dict[str, Any] | None: ...

    def list_changed(
        self, object: str, since: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page: ...

    def search(self, object: str, field: str, value: str) -> list[dict[str, Any]]: ...

    def create(self, object: str, data: dict[str, Any]) -> dict[str, Any]: ...

    def update(self, object: str, id: str, data: dict[str, Any]) -> dict[str, Any]: ...

    def delete(self, object: str, id: str) -> None: ...

    def upsert(self, object: str, key_field: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]: ...

    def record_id(self, record: dict[str, Any]) -> str: ...

    def modified_at(self, record: dict[str, Any]) -> str: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[Change]: ...

    def close(self) -> None: ...


# --- The HTTP client -------------------------------------------------------------------------------


def summary_of_request(request: httpx.Request) -> dict[str, Any]:
    """Method, URL and body; never the auth headers or query-string secrets."""
    url = request.url
    secret_params = {"consumer_key", "consumer_secret", "hapikey", "client_secret", "refresh_token"}
    params: list[tuple[str, str | int | float | bool | None]] = [
        (k, "***" if k in secret_params else v) for k, v in url.params.multi_items()
    ]
    shown = str(url.copy_with(query=None))
    if params:
        shown += "?" + str(httpx.QueryParams(params))
    body = request.content[:_KEPT].decode("utf-8", "replace") if request.content else None
    return {"method": request.method, "url": shown, "body": _maybe_json(body)}


def summary_of_response(response: httpx.Response) -> dict[str, Any]:
    kept = {k: v for k, v in response.headers.items() if k.lower() not in {"set-cookie"}}
    text = response.content[:_KEPT].decode("utf-8", "replace")
    return {"status": response.status_code, "headers": kept, "body": _maybe_json(text)}


def _maybe_json(text: str | None) -> Any:
    if not text:
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


_recorded: ContextVar[list[dict[str, Any]] | None] = ContextVar("isao_recorded_calls", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Keep the successful calls made in this block as ``{"request", "response"}`` summaries, as failures
    already carry theirs, so a write that worked can be read like one that failed. Per thread (a client
    is shared by the workers), bounded to ``_KEPT_CALLS`` calls of ``_KEPT`` bytes of body each."""
    calls: list[dict[str, Any]] = []
    token = _recorded.set(calls)
    try:
        yield calls
    finally:
        _recorded.reset(token)


def _record(sent: dict[str, Any], response: httpx.Response) -> None:
    calls = _recorded.get()
    if calls is not None and len(calls) < _KEPT_CALLS:
        calls.append({"request": sent, "response": summary_of_response(response)})


def retry_after(response: httpx.Response, default: float) -> float:
    """``Retry-After`` in seconds (delta or HTTP date), else ``default``."""
    value = response.headers.get("retry-after")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_to_datetime(value) if value else None
    return max(0.0, parsed.timestamp() - time.time()) if parsed else default


def json_body(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return None


class ApiClient:
    """One provider account. ``request`` authenticates, refreshes once on 401 when the provider has
    OAuth, and raises the ``isao.errors`` class of any failure with the request and response attached."""

    provider: ClassVar[str]
    default_retry_after: ClassVar[float] = 10.0
    """Seconds to wait after a 429 that carries no ``Retry-After`` (the provider's rate window)."""
    default_rate_limit: ClassVar[str | None] = None
    """The provider's published ceiling as ``"<requests>/<seconds>"`` (a connection's ``rate_limit``
    setting overrides it); None when it publishes none."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._transport: httpx.BaseTransport | None = None
        if http is None:
            transport = StdlibTransport()
            headers = {"User-Agent": "ISAO/0.1"}
            http = httpx.Client(timeout=timeout, headers=headers, transport=transport)
            if not urllib.request.getproxies():  # else httpx routes each request to its proxy
                self._transport = transport
        self.http = http
        self.clock = clock
        self.throttle: Callable[[], None] | None = None
        """Called before every request: waits for a token of the connection's shared bucket (set by the
        sync engine, which owns the buckets), so workers pace themselves instead of collecting 429s."""

    def close(self) -> None:
        self.http.close()

    # --- what a provider implements ---

    def auth_headers(self, secrets: dict[str, Any]) -> dict[str, str]:
        return {}

    def auth_params(self, secrets: dict[str, Any]) -> dict[str, str]:
        return {}

    @property
    def uses_oauth(self) -> bool:
        return False

    def mint_token(self, secrets: dict[str, Any]) -> dict[str, Any]:
        """Call the provider's token endpoint; return the secrets to store (``access_token``,
        ``expires_at`` in epoch seconds, a rotated ``refresh_token`` if the provider rotates it)."""
        raise NotImplementedError

    def classify(
        self, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
    ) -> ProviderError:
        """The error for a non-success answer; the default reads only the status code."""
        return classify_status(self, response, request, reply)

    def check(self) -> str:
        """One cheap authenticated call; a line describing the account, for ``isao connections test``."""
        raise NotImplementedError

    def is_failure(self, response: httpx.Response) -> bool:
        """Zoho answers some failures with 200/201/202 and a per-record ``status: error``; override there."""
        return response.status_code >= 400

    # --- the call ---

    def current_secrets(self) -> dict[str, Any]:
        secrets = self.credentials.load()
        if self.uses_oauth and not still_fresh(secrets, None, self.clock()):
            secrets = self.credentials.refresh(secrets.get("access_token"), self.mint_token)
        return secrets

    def refresh_token(self) -> None:
        """Force a refresh (the queue's ``on_auth_expired`` hook): the stored token is the stale one."""
        stale = self.credentials.load().get("access_token")
        self.credentials.refresh(stale, self.mint_token)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        url = path if path.startswith("http") else self.base_url + path
        for attempt in (1, 2):
            secrets = self.current_secrets()
            query = {**(params or {}), **self.auth_params(secrets)}
            all_headers = {**self.auth_headers(secrets), **(headers or {})}
            content = orjson.dumps(json) if json is not None else None
            if content is not None:
                all_headers.setdefault("Content-Type", "application/json")
            request = self.http.build_request(
                method, url, params=query or None, content=content, data=data, headers=all_headers
            )
            sent = summary_of_request(request)
            if self.throttle is not None:
                self.throttle()
            try:
                response = self._send(request)
            except httpx.TimeoutException as exc:
                raise Transient(f"{self.provider}: timed out: {exc}", request=sent) from exc
            except httpx.TransportError as exc:
                raise Transient(f"{self.provider}: {type(exc).__name__}: {exc}", request=sent) from exc
            if not self.is_failure(response):
                _record(sent, response)
                return response
            error = self.classify(response, sent, summary_of_response(response))
            if isinstance(error, AuthExpired) and self.uses_oauth and attempt == 1:
                self.credentials.refresh(secrets.get("access_token"), self.mint_token)
                continue
            raise error
        raise AssertionError("unreachable")

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Straight to the transport when this client made its own and no proxy is configured: an API
        call follows no redirects, uses no httpx auth and keeps no cookies, and skipping that machinery
        saves about a fifth of a call's CPU. A client passed in (``http=``) is used as it is."""
        if self._transport is None:
            return self.http.send(request)
        response = self._transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response


def paginate(first: Callable[[str | None], Page]) -> Iterator[dict[str, Any]]:
    """Every record, following cursors from ``first(None)``; a cursor that does not move ends it."""
    cursor: str | None = None
    while True:
        page = first(cursor)
        yield from page.records
        if page.cursor is None or page.cursor == cursor:
            return
        cursor = page.cursor


def classify_status(
    client: ApiClient, response: httpx.Response, request: dict[str, Any], reply: dict[str, Any]
) -> ProviderError:
    """The status-code reading every provider starts from; providers refine it from their bodies."""
    status = response.status_code
    message = f"{client.provider}: {request['method']} {request['url']} answered {status}"
    kwargs: dict[str, Any] = {"request": request, "response": reply}
    if status == 429:
        return RateLimited(message, retry_after(response, client.default_retry_after), **kwargs)
    if status == 401:
        return AuthExpired(message, client.credentials.connection_id, **kwargs)
    if status == 404:
        return NotFound(message, **kwargs)
    if status in (408, 425) or status >= 500:
        return Transient(message, **kwargs)
    return Invalid(message, details=reply.get("body"), **kwargs)
