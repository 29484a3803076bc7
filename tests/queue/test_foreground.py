"""Workers give way to webhook acknowledgements, but never for longer than the configured wait."""

from __future__ import annotations

import threading

from isao.queue.foreground import Foreground


def test_no_acknowledgement_in_flight_means_no_wait() -> None:
    gate = Foreground(max_wait=3600)
    gate.give_way()  # would hang for an hour if it waited
    assert gate.active == 0


def test_waits_until_the_acknowledgements_are_answered() -> None:
    gate = Foreground(max_wait=3600)
    entered, leave = threading.Event(), threading.Event()

    def acknowledge() -> None:
        with gate.serving():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=acknowledge)
    thread.start()
    entered.wait(10)
    assert gate.active == 1
    threading.Timer(0.05, leave.set).start()
    gate.give_way()  # returns once the acknowledgement is answered, not after max_wait
    thread.join(10)
    assert gate.active == 0


def test_a_continuous_burst_still_lets_the_worker_through() -> None:
    gate = Foreground(max_wait=0.01)
    with gate.serving():
        gate.give_way()  # would hang forever if the wait were not bounded
        assert gate.active == 1


def test_zero_turns_it_off() -> None:
    gate = Foreground(max_wait=0)
    with gate.serving():
        gate.give_way()
