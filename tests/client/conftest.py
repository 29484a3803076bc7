"""SDK fixtures on the shared live server: clients bound to the test's company, and a sleep recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest

from isao.client import AsyncIsaoClient, IsaoClient
from tests.conftest import Tenant


@dataclass
class Sleeps:
    """Stands in for ``time.sleep``/``asyncio.sleep``: records the waits instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(tenant: Tenant, sleeps: Sleeps) -> Iterator[IsaoClient]:
    with IsaoClient(tenant.token, tenant.api, sleep=sleeps) as isao:
        yield isao


@pytest.fixture
async def aclient(tenant: Tenant, sleeps: Sleeps) -> AsyncIterator[AsyncIsaoClient]:
    async with AsyncIsaoClient(tenant.token, tenant.api, sleep=sleeps.asleep) as isao:
        yield isao
