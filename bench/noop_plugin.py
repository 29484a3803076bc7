"""A plugin for ``bench/ingest.py``'s queue benchmark: the job kind ``bench.noop``, which does nothing.

Loaded by ``isao worker`` with ``ISAO_PLUGINS='["bench.noop_plugin"]'`` and the repository root on
``PYTHONPATH``; what remains of a job's cost is the queue's own (claim, complete, attempt record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isao.runtime import Runtime

KIND = "bench.noop"


def register(runtime: Runtime) -> None:
    runtime.registry.register(KIND, lambda ctx, payload: None)
