"""Sandboxes served over real HTTP on 127.0.0.1 for the tests of the sandboxes, connectors and recipes
(the ``sandbox_factory`` fixture in ``tests/conftest.py`` starts them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

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
