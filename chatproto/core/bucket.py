"""The rate limit (docs/protocol.md section 7): a token bucket over frames."""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime


class TokenBucket:
    """C{burst} tokens, refilled at C{rate} a second; one token per frame.

    A door asks L{take} for a joined member's frame (refused: the frame is
    dropped with `rate-limited`), and L{charge} for a choosing member's frame,
    which may only ever hear READY or RETRY and so is throttled instead.
    """

    # One per connection: no per-instance dict (memory per idle client).
    __slots__ = ("_burst", "_clock", "_refilled_at", "_tokens", "rate")

    def __init__(self, rate: float, burst: int, clock: IReactorTime) -> None:
        self.rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = self._burst
        self._refilled_at = clock.seconds()

    def fill(self) -> None:
        """A full bucket, as of now."""
        self._tokens = self._burst
        self._refilled_at = self._clock.seconds()

    def _refill(self) -> float:
        """The tokens in the bucket now (at most the burst), counted from the last refill."""
        now = self._clock.seconds()
        tokens = min(self._burst, self._tokens + (now - self._refilled_at) * self.rate)
        self._refilled_at = now
        return tokens

    def take(self) -> bool:
        """Spend a token if there is one."""
        tokens = self._refill()
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        return False

    def retry_after(self) -> float:
        """Seconds until a token is there again (after a refused L{take})."""
        return round((1.0 - self._tokens) / self.rate, 3)

    def charge(self) -> float:
        """Spend a token, into debt if need be; return the seconds until the debt is paid."""
        self._tokens = self._refill() - 1.0
        return -self._tokens / self.rate if self._tokens < 0 else 0.0
