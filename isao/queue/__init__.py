"""The durable job queue: enqueue in the caller's transaction, claim with a lease, retry by error
class, dead-letter, replay; periodic jobs; shared rate limits. It knows handlers only by name."""

from isao.queue.jobs import enqueue

__all__ = ["enqueue"]
