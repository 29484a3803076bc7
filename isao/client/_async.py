"""The asyncio client, over ``httpx.AsyncClient``: ``_sync.py`` with ``await``; keep the two in step."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from isao.client import _base
from isao.client._base import DEFAULT_BASE_URL, RetryPolicy
from isao.client.errors import ApiError, ConflictError
from isao.client.pagination import Page, Record, first_page_filters

Records = list[Record]  # module-level: inside the resources, ``list`` names the method
DateLike = datetime | date | str  # a str is sent as is: ISO 8601, e.g. "2024-12-30"


class AsyncIsaoClient:
    """A connection to one ISAO install with one API key; reuse it, as it pools connections.

    ``sleep`` is how retries wait; tests pass a recorder instead of ``asyncio.sleep``.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.retry_policy = RetryPolicy(max_retries, backoff_base, backoff_cap, max_retry_after)
        self._sleep = sleep
        self._http = httpx.AsyncClient(transport=transport, **_base.http_options(api_key, base_url, timeout))
        self.contacts = AsyncContacts(self)
        self.deals = AsyncDeals(self)
        self.webhooks = AsyncWebhooks(self)

    async def test(self) -> Record:
        """The key's company, name and scopes: a cheap check that URL and key are right."""
        result: Record = (await self.request("GET", "/test"))["data"]
        return result

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any]:
        """The whole envelope (``success``, ``data``, ``meta``), retried; for endpoints not wrapped here."""
        method = method.upper()
        for attempt in itertools.count():
            try:
                response = await self._http.request(method, path, params=params, json=json)
                envelope: dict[str, Any] = _base.read(response)
                return envelope
            except (httpx.RequestError, ApiError) as exc:
                delay = self.retry_policy.delay(method, exc, attempt)
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class _AsyncRecords:
    """List, read and write for a collection of the API (contacts, deals).

    Fields may use the API's camelCase or snake_case (``first_name`` → ``firstName``); dates may be
    ``datetime``/``date`` objects. ``update`` is partial: fields left out keep their value, ``None`` clears.
    """

    collection = ""

    def __init__(self, client: AsyncIsaoClient) -> None:
        self._client = client

    async def list(self, **filters: Any) -> Page:
        """One page: ``page``, ``limit`` (≤ 200), ``sort`` and the collection's filters."""
        return Page.from_body(await self._client.request("GET", self.collection, params=_base.query(filters)))

    async def iterate(self, **filters: Any) -> AsyncIterator[Record]:
        """Every matching record, fetching 200 per request until the last page.

        With the default newest-first order, records created meanwhile shift the pages; pass
        ``sort="createdAt"`` for a stable walk over a collection being written to.
        """
        params = first_page_filters(filters)
        while True:
            page = await self.list(**params)
            for record in page.data:
                yield record
            if not page.has_next:
                return
            params["page"] = page.page + 1

    async def get(self, record_id: str) -> Record:
        return await self._data("GET", _base.record_path(self.collection, record_id))

    async def create(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Record:
        return await self._data("POST", self.collection, _base.body(fields, kwargs))

    async def update(
        self, record_id: str, fields: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> Record:
        return await self._data(
            "PUT", _base.record_path(self.collection, record_id), _base.body(fields, kwargs)
        )

    async def delete(self, record_id: str) -> Record:
        """``{"id", "deleted": true}``; a record already gone raises ``NotFoundError``."""
        return await self._data("DELETE", _base.record_path(self.collection, record_id))

    async def _data(self, method: str, path: str, json: Any = None) -> Record:
        result: Record = (await self._client.request(method, path, json=json))["data"]
        return result


class AsyncContacts(_AsyncRecords):
    collection = "/contacts"

    async def upsert(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Record:
        """Create, or update the contact holding the same email or phone (the API's 409) with these fields.

        If email and phone belong to two different contacts the update's own 409 is raised.
        """
        payload = _base.body(fields, kwargs)
        try:
            return await self.create(payload)
        except ConflictError as exc:
            return await self.update(_base.conflicting_id(exc), payload)


class AsyncDeals(_AsyncRecords):
    collection = "/deals"

    async def update_status(
        self,
        deal_id: str,
        status: str | None = None,
        stage: str | None = None,
        probability: float | None = None,
        actual_close_date: DateLike | None = None,
    ) -> Record:
        """Move a deal through the pipeline; the API emits ``deal.stage_changed``/``won``/``lost`` events.

        Arguments left ``None`` are not sent (to clear one, use ``update``).
        """
        json = _base.status_body(status, stage, probability, actual_close_date)
        return await self._data("PUT", _base.record_path(self.collection, deal_id) + "/status", json)

    async def mark_won(self, deal_id: str, close_date: DateLike | None = None) -> Record:
        """Close as won; without ``close_date`` the server stamps now."""
        return await self.update_status(deal_id, status="won", actual_close_date=close_date)

    async def mark_lost(self, deal_id: str, close_date: DateLike | None = None) -> Record:
        """Close as lost; without ``close_date`` the server stamps now."""
        return await self.update_status(deal_id, status="lost", actual_close_date=close_date)


class AsyncWebhooks:
    """REST-hook subscriptions; the signing ``secret`` is only in ``subscribe``'s answer, so keep it."""

    def __init__(self, client: AsyncIsaoClient) -> None:
        self._client = client

    async def subscribe(self, event: str, target_url: str) -> Record:
        result: Record = (
            await self._client.request(
                "POST", "/webhooks/subscribe", json={"event": event, "target_url": target_url}
            )
        )["data"]
        return result

    async def list(self) -> Records:
        result: Records = (await self._client.request("GET", "/webhooks"))["data"]
        return result

    async def delete(self, webhook_id: str) -> Record:
        path = _base.record_path("/webhooks", webhook_id)
        result: Record = (await self._client.request("DELETE", path))["data"]
        return result
