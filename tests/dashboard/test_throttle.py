"""Password guessing is capped: failures per email and per client address, in a sliding window."""

from __future__ import annotations

import httpx

from isao.dashboard.throttle import LoginThrottle
from tests.conftest import LiveServer
from tests.dashboard.conftest import PASSWORD, Dashboard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_email_is_refused_after_five_failures_until_the_first_ages_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(window=900, per_email=5, per_address=20, clock=clock)
    for _ in range(5):
        assert throttle.wait("Ops@x.io", "10.0.0.1") == 0
        throttle.failed("Ops@x.io", "10.0.0.1")
        clock.now += 10
    assert throttle.wait("ops@x.io", "10.0.0.2") == 900 - 50, "the email, whatever the address"
    assert throttle.wait("other@x.io", "10.0.0.1") == 0, "another email from that address"
    clock.now += 900 - 50
    assert throttle.wait("ops@x.io", "10.0.0.1") == 0


def test_an_address_is_refused_after_twenty_failures_across_emails() -> None:
    clock = Clock()
    throttle = LoginThrottle(window=900, per_email=5, per_address=20, clock=clock)
    for n in range(20):
        throttle.failed(f"guess{n}@x.io", "10.0.0.9")
    assert throttle.wait("fresh@x.io", "10.0.0.9") == 900
    assert throttle.wait("fresh@x.io", "10.0.0.8") == 0


def test_a_success_clears_the_emails_failures() -> None:
    throttle = LoginThrottle(per_email=2)
    throttle.failed("a@x.io", "h")
    throttle.succeeded("A@x.io")
    throttle.failed("a@x.io", "h")
    assert throttle.wait("a@x.io", "h") == 0


def test_the_login_form_says_when_to_try_again(dashboard: Dashboard, server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        guesser = Dashboard(client, dashboard.tenant, dashboard.email)
        guesser.get("/login")
        for _ in range(5):
            assert guesser.post("/login", {"email": dashboard.email, "password": "guess"}).status_code == 400
        refused = guesser.post("/login", {"email": dashboard.email, "password": PASSWORD})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many failed logins. Try again in 15 minutes." in refused.text
        assert guesser.get("/", follow_redirects=False).status_code == 303, "not logged in"
