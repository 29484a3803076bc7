"""Sandboxes served over real HTTP on 127.0.0.1 for the tests of the sandboxes and of the connectors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Faults
from isao.sandbox.runner import sandbox_class
from tests.conftest import serve


@dataclass
class RunningSandbox:
    sandbox: Sandbox
    url: str

    def faults(self, **knobs: Any) -> dict[str, Any]:
        """Set fault knobs through the admin endpoint, as a user would."""
        response = httpx.put(f"{self.url}/_sandbox/faults", json=knobs)
        response.raise_for_status()
        return dict(response.json())

    def deliveries(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_sandbox/deliveries").json())

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_sandbox/stats").json())


@contextmanager
def running(provider: str, **knobs: Any) -> Iterator[RunningSandbox]:
    sandbox = sandbox_class(provider)(faults=Faults(**knobs))
    with serve(sandbox.app()) as live:
        sandbox.base_url = live.url
        yield RunningSandbox(sandbox, live.url)


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., RunningSandbox]]:
    """``sandbox_factory("hubspot", rate_limit=10)`` starts a fresh sandbox; all stop at teardown."""
    stack: list[Any] = []

    def start(provider: str, **knobs: Any) -> RunningSandbox:
        manager = running(provider, **knobs)
        stack.append(manager)
        return manager.__enter__()

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)
