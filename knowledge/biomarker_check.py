"""Check a targeted-drug order against its label's biomarkers: the outcome and what decided it.

The rules, in order (docs/oncology.md has them with the card each gives):
a tumour type the label excludes (limitation of use) is not indicated; candidates are the
indications for the order's tumour types (every indication when the tumour type is unknown; none
known to fit -> no question arises). A resistance marker present in a
candidate wins; then a requirement documented in a candidate; then a candidate that needs no
biomarker (the prescriber may be using it) ends the check; otherwise the required markers decide:
every candidate's requirement known to fail -> not indicated, else any uncertain -> uncertain,
else a test is required. A wild-type requirement (RAS wild-type) is met when its markers were
tested and not found, and fails when one is present.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.base import KnowledgeBase
from knowledge.marker_call import MarkerCall, call_marker
from knowledge.oncology_schema import Indication, Limitation, Outcome, Resistance, TargetedDrug
from knowledge.tumour import TumourProfile

__all__ = [
    "DEFAULT_INDICATORS",
    "BiomarkerCheck",
    "IndicationCall",
    "ResistanceHit",
    "check_biomarkers",
]

# How loudly each outcome is shown unless the site says otherwise (cds_hooks/site_defaults.yaml).
DEFAULT_INDICATORS: dict[Outcome, str | None] = {
    "none": None,
    "documented": None,
    "test-required": "warning",
    "not-indicated": "warning",
    "resistance": "warning",
    "uncertain": "info",
}


@dataclass(frozen=True, slots=True)
class ResistanceHit:
    resistance: Resistance
    call: MarkerCall


@dataclass(frozen=True, slots=True)
class IndicationCall:
    """One candidate indication with the calls of the markers it requires."""

    indication: Indication
    required: tuple[MarkerCall, ...]
    resistance: tuple[ResistanceHit, ...]

    @property
    def wild_type(self) -> bool:
        requires = self.indication.requires
        return requires is not None and requires.wild_type

    @property
    def documented(self) -> tuple[MarkerCall, ...]:
        """The calls that meet the requirement (for wild type: all of them, each negative)."""
        if self.wild_type:
            if self.required and all(c.status == "negative" for c in self.required):
                return self.required
            return ()
        return tuple(c for c in self.required if c.status == "present")

    @property
    def uncertain(self) -> tuple[MarkerCall, ...]:
        return tuple(c for c in self.required if c.status == "uncertain")

    @property
    def negative(self) -> bool:
        """The requirement is known to fail: none present (for wild type: one present)."""
        if self.wild_type:
            return any(c.status == "present" for c in self.required)
        return bool(self.required) and all(c.status == "negative" for c in self.required)

    @property
    def not_on_file(self) -> tuple[MarkerCall, ...]:
        return tuple(c for c in self.required if c.status == "not-on-file")


@dataclass(frozen=True, slots=True)
class BiomarkerCheck:
    """The outcome for one order of ``drug``, with the indications and markers behind it.

    ``tumour_types``: what the order is known to be for (``None``: not known, every indication
    was a candidate). ``deciding``: the candidate indications the outcome speaks about.
    """

    drug: str
    rules: TargetedDrug
    outcome: Outcome
    tumour_types: frozenset[str] | None
    candidates: tuple[IndicationCall, ...]
    deciding: tuple[IndicationCall, ...]
    resistance: tuple[ResistanceHit, ...] = ()
    # The label's limitation of use that made the order not indicated, if one did.
    limitation: Limitation | None = None

    @property
    def tests_needed(self) -> tuple[str, ...]:
        """The tests the deciding indications ask for whose result is not on file."""
        return tuple(
            dict.fromkeys(
                call.indication.requires.test
                for call in self.deciding
                if call.indication.requires is not None and call.not_on_file
            )
        )


def check_biomarkers(
    kb: KnowledgeBase,
    drug: str,
    profile: TumourProfile,
    tumour_types: frozenset[str] | None,
) -> BiomarkerCheck | None:
    """The biomarker outcome for an order of ``drug``; ``None`` when no oncology rule covers it."""
    oncology = kb.oncology
    rules = oncology.drugs.get(drug) if oncology is not None else None
    if oncology is None or rules is None or rules.status == "retired":
        return None
    if tumour_types is not None:
        for limitation in rules.limitations:
            if tumour_types & frozenset(limitation.tumour):
                return BiomarkerCheck(
                    drug, rules, "not-indicated", tumour_types, (), (), limitation=limitation
                )
    indications = [
        i for i in rules.indications if tumour_types is None or tumour_types & frozenset(i.tumour)
    ]
    calls = tuple(_call_indication(kb, i, profile) for i in indications)

    def result(
        outcome: Outcome, deciding: tuple[IndicationCall, ...], hits: tuple[ResistanceHit, ...] = ()
    ) -> BiomarkerCheck:
        return BiomarkerCheck(drug, rules, outcome, tumour_types, calls, deciding, hits)

    if not calls:
        return result("none", ())
    # The same rule repeated on several indications is one hit (one paragraph on the card).
    hits = tuple(
        {
            (hit.resistance.says, hit.call.marker_id): hit
            for call in calls
            for hit in call.resistance
            if hit.call.status == "present"
        }.values()
    )
    if hits:
        return result(
            "resistance", tuple(c for c in calls if any(h in c.resistance for h in hits)), hits
        )
    documented = tuple(c for c in calls if c.documented)
    if documented:
        return result("documented", documented)
    if any(c.indication.requires is None for c in calls):
        return result("none", ())
    if all(c.negative for c in calls):
        return result("not-indicated", calls)
    uncertain = tuple(c for c in calls if c.uncertain and not c.negative)
    if uncertain:
        return result("uncertain", uncertain)
    return result("test-required", tuple(c for c in calls if c.not_on_file and not c.negative))


def _call_indication(
    kb: KnowledgeBase, indication: Indication, profile: TumourProfile
) -> IndicationCall:
    assert kb.oncology is not None
    markers = kb.oncology.markers
    required: tuple[MarkerCall, ...] = ()
    if indication.requires is not None:
        origin = indication.requires.origin
        required = tuple(
            call_marker(m, markers[m], profile, origin) for m in indication.requires.any_of
        )
    hits = tuple(
        ResistanceHit(rule, call_marker(m, markers[m], profile, rule.origin))
        for rule in indication.resistance
        for m in rule.any_of
    )
    return IndicationCall(indication, required, hits)
