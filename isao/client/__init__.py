"""Python SDK for the ISAO External API, sync and asyncio; depends only on ``httpx``.

Usage::

    from isao.client import AsyncIsaoClient, IsaoClient, NotFoundError

    with IsaoClient("ck_...", "https://crm.example.com/api/external") as isao:
        print(isao.test()["companyName"])

        ada = isao.contacts.upsert(name="Ada Lovelace", email="ada@example.com", tags=["vip"])
        for contact in isao.contacts.iterate(tag="vip", sort="createdAt"):  # every page
            print(contact["id"], contact["email"])

        deal = isao.deals.create(title="Engines", value="12000.00", currency="EUR", contact_id=ada["id"])
        isao.deals.update_status(deal["id"], stage="negotiation", probability=60)
        isao.deals.mark_won(deal["id"])

        hook = isao.webhooks.subscribe("deal.won", "https://hooks.example.com/isao")
        store_secret(hook["secret"])  # shown only once: it signs the deliveries

        try:
            isao.contacts.get("contact_unknown")
        except NotFoundError as exc:
            print(exc.status_code, exc.error)  # 404 Contact not found

    # asyncio: the same surface, awaited
    async with AsyncIsaoClient("ck_...") as isao:
        page = await isao.deals.list(status="open", limit=20)
        async for deal in isao.deals.iterate(status="won"):
            ...

Methods return the answer's ``data`` as plain dicts (camelCase keys, as the API documents them);
``list`` returns a :class:`Page`. Errors are :class:`IsaoError` subclasses, one per status.
Rate limits (429) are waited out per ``Retry-After``; 5xx and network failures are retried with
jittered exponential backoff (see :class:`RetryPolicy` for what is never retried, e.g. a POST
that may have reached the server).
"""

from isao.client._async import AsyncContacts, AsyncDeals, AsyncIsaoClient, AsyncWebhooks
from isao.client._base import DEFAULT_BASE_URL, RetryPolicy
from isao.client._sync import Contacts, Deals, IsaoClient, Webhooks
from isao.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidResponseError,
    IsaoError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from isao.client.pagination import MAX_LIMIT, Page, Record

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_LIMIT",
    "ApiError",
    "AsyncContacts",
    "AsyncDeals",
    "AsyncIsaoClient",
    "AsyncWebhooks",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "Contacts",
    "Deals",
    "InvalidResponseError",
    "IsaoClient",
    "IsaoError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "Record",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "Webhooks",
]
