"""Where the next page starts, in each provider's style; None means this was the last page. A client wraps
one of these in a ``base.Page`` and ``base.paginate`` follows it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


def next_number(response: httpx.Response, page: int, total_pages_header: str) -> str | None:
    """Page numbers with a total in a header (WordPress' ``X-WP-TotalPages``)."""
    pages = int(response.headers.get(total_pages_header) or 0)
    return str(page + 1) if page < pages else None


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (Shopify's REST ``page_info``, WordPress)."""
    link = response.links.get("next")
    return link.get("url") if link else None


def next_after(payload: Mapping[str, Any]) -> str | None:
    """HubSpot's ``paging.next.after``."""
    after = ((payload.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after is not None else None


def next_starting_after(payload: Mapping[str, Any], key: str = "id") -> str | None:
    """Stripe's lists: the last item's id while ``has_more``."""
    data = payload.get("data") or []
    return str(data[-1][key]) if payload.get("has_more") and data else None


def next_records_url(payload: Mapping[str, Any]) -> str | None:
    """Salesforce's SOQL: ``nextRecordsUrl`` until ``done``."""
    url = payload.get("nextRecordsUrl")
    return str(url) if url and not payload.get("done", True) else None


def connection(payload: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """A GraphQL connection's nodes and the cursor after them while ``pageInfo.hasNextPage``."""
    edges = payload.get("edges")
    nodes = [edge["node"] for edge in edges] if isinstance(edges, list) else list(payload.get("nodes") or [])
    info = payload.get("pageInfo") or {}
    return nodes, (str(info["endCursor"]) if info.get("hasNextPage") and info.get("endCursor") else None)
