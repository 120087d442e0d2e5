"""The time budget of one hook call, which every FHIR search and RxNav lookup of it draws on."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["CallBudget"]


class CallBudget:
    """``seconds`` from its creation (the start of the hook call) for all of the call's callbacks.

    Each callback waits at most ``remaining()``, less if its own limit is shorter, and one that
    finds nothing left fails at once: the EHR is waiting for the answer, not for our server calls.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends_at = clock() + seconds

    def remaining(self) -> float:
        """Seconds left now; never negative."""
        return max(0.0, self._ends_at - self._clock())
