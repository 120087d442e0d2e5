"""No duplicate alerts: what was already shown, or overridden, is not shown again unchanged.

Two rules (docs/hooks.md, "Repeated cards"):

- A card shown at order-select for a patient's draft order is not repeated at order-sign for the
  same draft within ``select_window`` seconds, unless the card changed (new result, new inhibitor,
  new dose: anything that changes what the card says changes its fingerprint).
- A card the prescriber overrode (feedback ``overridden``) is not repeated for the same patient and
  drug within ``override_window`` seconds, unless it changed.

State lives in an :class:`~cds_hooks.alert_memory.AlertMemory` (in-process, or Redis so replicas
agree). Keys are HMACs of the patient id and order, so the memory never holds PHI in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

from cds_hooks.alert_memory import AlertMemory

__all__ = ["RepeatGuard", "fingerprint"]

# What a card says, for deciding whether it changed; the uuid differs per call by design.
_CONTENT_FIELDS = ("summary", "indicator", "detail", "source")


def fingerprint(card: Mapping[str, Any]) -> str:
    """A digest of what the card tells the prescriber, suggestions included."""
    content = {key: card.get(key) for key in _CONTENT_FIELDS}
    content["suggestions"] = [s.get("label") for s in card.get("suggestions", ())]
    text = orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(text).hexdigest()[:32]


class RepeatGuard:
    """Decides which cards to hold back, and remembers what was shown and overridden."""

    def __init__(
        self,
        memory: AlertMemory,
        *,
        secret: bytes,
        select_window: float,
        override_window: float,
    ) -> None:
        self._memory = memory
        self._secret = secret
        self._select_window = select_window
        self._override_window = override_window

    def filter(
        self,
        hook: str,
        patient_id: str,
        cards: list[tuple[str, str, dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """The cards to show, from ``(order key, drug, card)``; records what is shown.

        ``order key`` identifies the draft order (its FHIR id, else the drug).
        """
        shown = []
        for order_key, drug, card in cards:
            digest = fingerprint(card)
            if self._override_window and self._memory.recall(
                self._key("overridden", patient_id, drug, digest)
            ):
                continue
            at_select = self._key("select", patient_id, order_key, digest)
            if hook == "order-sign" and self._select_window and self._memory.recall(at_select):
                continue
            if hook == "order-select" and self._select_window:
                self._memory.remember(at_select, "1", self._select_window)
            if self._override_window and isinstance(card.get("uuid"), str):
                # Kept so that feedback on this card can find what it was about.
                self._memory.remember(
                    self._key("card", card["uuid"]),
                    self._key("overridden", patient_id, drug, digest),
                    self._override_window,
                )
            shown.append(card)
        return shown

    def overridden(self, card_uuid: str) -> bool:
        """Record an override of a card shown earlier; False when the card is not remembered."""
        if not self._override_window:
            return False
        target = self._memory.recall(self._key("card", card_uuid))
        if target is None:
            return False
        self._memory.remember(target, "1", self._override_window)
        return True

    def _key(self, kind: str, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]
        return f"{kind}:{digest}"
