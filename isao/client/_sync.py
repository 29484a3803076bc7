"""The blocking client, over ``httpx.Client``. ``_async.py`` mirrors it line for line."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
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


class IsaoClient:
    """A connection to one ISAO install with one API key; reuse it, as it pools connections.

    ``sleep`` is how retries wait; tests pass a recorder instead of ``time.sleep``.
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
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry_policy = RetryPolicy(max_retries, backoff_base, backoff_cap, max_retry_after)
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, **_base.http_options(api_key, base_url, timeout))
        self.contacts = Contacts(self)
        self.deals = Deals(self)
        self.webhooks = Webhooks(self)

    def test(self) -> Record:
        """The key's company, name and scopes: a cheap check that URL and key are right."""
        result: Record = self.request("GET", "/test")["data"]
        return result

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any]:
        """The whole envelope (``success``, ``data``, ``meta``), retried; for endpoints not wrapped here."""
        method = method.upper()
        for attempt in itertools.count():
            try:
                response = self._http.request(method, path, params=params, json=json)
                envelope: dict[str, Any] = _base.read(response)
                return envelope
            except (httpx.RequestError, ApiError) as exc:
                delay = self.retry_policy.delay(method, exc, attempt)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Records:
    """List, read and write for a collection of the API (contacts, deals).

    Fields may use the API's camelCase or snake_case (``first_name`` → ``firstName``); dates may be
    ``datetime``/``date`` objects. ``update`` is partial: fields left out keep their value, ``None`` clears.
    """

    collection = ""

    def __init__(self, client: IsaoClient) -> None:
        self._client = client

    def list(self, **filters: Any) -> Page:
        """One page: ``page``, ``limit`` (≤ 200), ``sort`` and the collection's filters."""
        return Page.from_body(self._client.request("GET", self.collection, params=_base.query(filters)))

    def iterate(self, **filters: Any) -> Iterator[Record]:
        """Every matching record, fetching 200 per request until the last page.

        With the default newest-first order, records created meanwhile shift the pages; pass
        ``sort="createdAt"`` for a stable walk over a collection being written to.
        """
        params = first_page_filters(filters)
        while True:
            page = self.list(**params)
            yield from page.data
            if not page.has_next:
                return
            params["page"] = page.page + 1

    def get(self, record_id: str) -> Record:
        return self._data("GET", _base.record_path(self.collection, record_id))

    def create(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Record:
        return self._data("POST", self.collection, _base.body(fields, kwargs))

    def update(self, record_id: str, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Record:
        return self._data("PUT", _base.record_path(self.collection, record_id), _base.body(fields, kwargs))

    def delete(self, record_id: str) -> Record:
        """``{"id", "deleted": true}``; a record already gone raises ``NotFoundError``."""
        return self._data("DELETE", _base.record_path(self.collection, record_id))

    def _data(self, method: str, path: str, json: Any = None) -> Record:
        result: Record = self._client.request(method, path, json=json)["data"]
        return result


class Contacts(_Records):
    collection = "/contacts"

    def upsert(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Record:
        """Create, or update the contact holding the same email or phone (the API's 409) with these fields.

        If email and phone belong to two different contacts the update's own 409 is raised.
        """
        payload = _base.body(fields, kwargs)
        try:
            return self.create(payload)
        except ConflictError as exc:
            return self.update(_base.conflicting_id(exc), payload)


class Deals(_Records):
    collection = "/deals"

    def update_status(
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
        return self._data("PUT", _base.record_path(self.collection, deal_id) + "/status", json)

    def mark_won(self, deal_id: str, close_date: DateLike | None = None) -> Record:
        """Close as won; without ``close_date`` the server stamps now."""
        return self.update_status(deal_id, status="won", actual_close_date=close_date)

    def mark_lost(self, deal_id: str, close_date: DateLike | None = None) -> Record:
        """Close as lost; without ``close_date`` the server stamps now."""
        return self.update_status(deal_id, status="lost", actual_close_date=close_date)


class Webhooks:
    """REST-hook subscriptions; the signing ``secret`` is only in ``subscribe``'s answer, so keep it."""

    def __init__(self, client: IsaoClient) -> None:
        self._client = client

    def subscribe(self, event: str, target_url: str) -> Record:
        result: Record = self._client.request(
            "POST", "/webhooks/subscribe", json={"event": event, "target_url": target_url}
        )["data"]
        return result

    def list(self) -> Records:
        result: Records = self._client.request("GET", "/webhooks")["data"]
        return result

    def delete(self, webhook_id: str) -> Record:
        result: Record = self._client.request("DELETE", _base.record_path("/webhooks", webhook_id))["data"]
        return result
