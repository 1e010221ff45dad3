"""Batches sent to the broker and not yet confirmed by the cloud: send more, or again? Pure.

The edge drops a batch from its spool only when the cloud says it has committed it
(:class:`protocols.mqtt.BatchAck`), not on the broker's PUBACK: a broker that crashes
after its PUBACK and before writing the message to disk would lose it. So the
publisher keeps account here of what it has sent on this connection:

- at most ``most`` batches are out unconfirmed at once; the rest wait in the spool
  (they are not lost, and a long outage of the cloud does not fill the broker);
- when nothing has been confirmed for ``timeout_s`` while batches are out, every
  unconfirmed batch is sent again (the cloud skips the ones it has), and the timeout
  doubles, up to ``timeout_max_s``, until a confirmation comes: an ingester that is
  down for an hour costs a few resends, not a flood.

A new broker connection sends everything in the spool again anyway (the publisher
starts a new account).
"""

from __future__ import annotations

from collections.abc import Iterable


class Confirmations:
    def __init__(self, *, most: int, timeout_s: float, timeout_max_s: float) -> None:
        if most < 1:
            raise ValueError(f"most must be at least 1, not {most}")
        if not 0 < timeout_s <= timeout_max_s:
            raise ValueError(
                f"timeouts must satisfy 0 < timeout_s <= timeout_max_s "
                f"(got {timeout_s} and {timeout_max_s})"
            )
        self.most = most
        self._first_timeout = timeout_s
        self._timeout_max = timeout_max_s
        self.timeout_s = timeout_s
        """The current wait for a confirmation before sending again."""
        self._out: set[int] = set()
        self._since = 0.0
        """When the current wait began: the last confirmation, or the first batch sent
        while none was out."""
        self.resends = 0
        """How many times the unconfirmed batches were sent again."""

    def __len__(self) -> int:
        """Batches sent and not yet confirmed."""
        return len(self._out)

    def room(self) -> int:
        """How many more batches may be sent now."""
        return max(0, self.most - len(self._out))

    def sent(self, seq: int, now: float) -> None:
        if not self._out:
            self._since = now
        self._out.add(seq)

    def confirmed(self, seqs: Iterable[int], now: float) -> int:
        """Note confirmed batches (any, including ones sent before or on another
        connection); how many of them were out on this account."""
        before = len(self._out)
        self._out.difference_update(seqs)
        progress = before - len(self._out)
        if progress:
            self._since = now
            self.timeout_s = self._first_timeout
        return progress

    def due_in(self, now: float) -> float | None:
        """Seconds until the unconfirmed batches are to be sent again (0: now); None
        when none is out."""
        if not self._out:
            return None
        return max(0.0, self._since + self.timeout_s - now)

    def resend(self, now: float) -> None:
        """Everything out is to be sent again: start a new account, wait longer next time."""
        self._out.clear()
        self._since = now
        self.timeout_s = min(self.timeout_s * 2, self._timeout_max)
        self.resends += 1
