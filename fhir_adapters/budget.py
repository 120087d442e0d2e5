"""The time a caller has left, as the callbacks of one hook call see it (``remaining()``)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Budget"]


class Budget(Protocol):
    """Seconds left for every callback of one hook call; each callback waits no longer."""

    def remaining(self) -> float:
        """Seconds left now; zero or less means none: a callback must fail at once."""
        ...
