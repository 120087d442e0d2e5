"""Call one biomarker for a tumour profile: present, negative, uncertain or not on file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from knowledge.oncology_schema import BiomarkerMatch, Marker, Wanted
from knowledge.protein_change import parse_protein_change
from knowledge.tumour import BiomarkerResult, Finding, TumourProfile

__all__ = ["MarkerCall", "MarkerStatus", "call_marker"]

MarkerStatus = Literal["present", "negative", "uncertain", "not-on-file"]
_PATHOGENIC = frozenset({"pathogenic", "likely-pathogenic"})


@dataclass(frozen=True, slots=True)
class MarkerCall:
    """What the profile says about one marker, with the results that decided it.

    ``evidence``: the results that made it present or uncertain, or (negative) the results
    that show the genes were tested. ``note``: why it is uncertain, as a card says it.
    """

    marker_id: str
    marker: Marker
    status: MarkerStatus
    evidence: tuple[Finding | BiomarkerResult, ...] = ()
    note: str | None = None


def call_marker(
    marker_id: str, marker: Marker, profile: TumourProfile, origin: Wanted
) -> MarkerCall:
    """How ``profile`` stands on ``marker``, counting only results of the wanted ``origin``.

    Present: a result of a fitting origin matches. ``somatic`` also takes results whose origin
    the lab did not state (tumour sequencing); ``germline`` takes only results stated germline,
    one of unstated origin is uncertain. Negative: a biomarker result says so, or every gene of
    the marker was looked at by a test of the right kind (a mutation panel does not settle a
    fusion or HER2 status) and origin (a germline test does not settle the tumour, whatever
    ``origin`` accepts as present) without a match.
    """
    present: list[Finding | BiomarkerResult] = []
    uncertain: list[tuple[Finding | BiomarkerResult, str]] = []
    negative: list[Finding | BiomarkerResult] = []
    genes = frozenset(marker.genes)
    tested: set[str] = set()
    for finding in profile.findings:
        if not _concerns(finding, genes) and not (
            finding.iscn and marker.fusion is not None and marker.fusion.iscn
        ):
            continue
        verdict, why = _finding_verdict(marker, finding)
        if verdict is None:
            continue
        fits, origin_note = _origin_fits(finding, origin)
        if finding.present and verdict in ("match", "uncertain"):
            if fits is None:
                uncertain.append((finding, origin_note or "origin not stated"))
            elif fits and verdict == "match":
                present.append(finding)
            elif fits:
                uncertain.append((finding, why or "cannot be read against this marker"))
        if _shows_tested(finding, origin):
            found_in = {g for g in (finding.gene, *finding.partners) if g in genes}
            if found_in:
                tested.update(found_in)
                negative.append(finding)
    if marker.biomarker is not None:
        for result in profile.biomarkers:
            if result.kind != marker.biomarker.kind:
                continue
            status = _biomarker_verdict(marker.biomarker, result)
            if status == "positive":
                present.append(result)
            elif status == "negative":
                negative.append(result)
                tested.update(genes)
            else:
                why = f"{result.text}: neither positive nor negative as the label defines it"
                uncertain.append((result, why))
    if present:
        return MarkerCall(marker_id, marker, "present", tuple(present))
    if uncertain:
        return MarkerCall(
            marker_id,
            marker,
            "uncertain",
            tuple(item for item, _ in uncertain),
            "; ".join(dict.fromkeys(why for _, why in uncertain)),
        )
    if origin != "germline":
        # Genes a lab listed as studied (region studied), with nothing reported in them.
        tested.update(genes & profile.tested_genes)
    biomarker_negative = any(isinstance(item, BiomarkerResult) for item in negative)
    if biomarker_negative or (genes and genes <= tested):
        return MarkerCall(marker_id, marker, "negative", tuple(negative))
    return MarkerCall(marker_id, marker, "not-on-file")


def _shows_tested(finding: Finding, wanted: Wanted) -> bool:
    """Whether the finding's test looked where ``wanted`` results arise (for a negative call)."""
    if wanted == "germline":
        return finding.origin == "germline"
    return finding.origin in ("somatic", "unknown")


def _concerns(finding: Finding, genes: frozenset[str]) -> bool:
    return finding.gene in genes or bool(finding.partners & genes)


def _origin_fits(finding: Finding, wanted: Wanted) -> tuple[bool | None, str | None]:
    """True: counts; False: another origin; None: cannot tell (germline wanted, origin unstated)."""
    if wanted == "any" or finding.origin == wanted:
        return True, None
    if wanted == "somatic":
        return finding.origin == "unknown", None
    if finding.origin == "unknown":
        return None, f"{finding.label}: the lab did not say whether it is germline"
    return False, None


def _finding_verdict(marker: Marker, finding: Finding) -> tuple[str | None, str | None]:
    """``match``, ``uncertain`` or ``other`` (a result of the marker's kind that is not it).

    ``None``: the finding is of a kind the marker is not defined by (a sequence variant says
    nothing about a fusion or an amplification), so it neither matches nor shows a negative.
    """
    verdicts = []
    if marker.variant is not None and finding.kind == "variant":
        verdicts.append(_variant_verdict(marker, finding))
    if marker.fusion is not None and finding.kind in ("fusion", "rearrangement"):
        verdicts.append(_fusion_verdict(marker, finding))
    if marker.copy_number is not None and finding.kind == "copy-number":
        verdicts.append(_copy_verdict(marker, finding))
    if not verdicts:
        return None, None
    for wanted in ("match", "uncertain"):
        for verdict, why in verdicts:
            if verdict == wanted:
                return verdict, why
    return "other", None


def _variant_verdict(marker: Marker, finding: Finding) -> tuple[str, str | None]:
    rule = marker.variant
    assert rule is not None
    if rule.pathogenic and finding.present:
        if finding.significance is None:
            return "uncertain", f"{finding.label}: no pathogenicity call from the lab"
        if finding.significance not in _PATHOGENIC:
            return "other", None
    if not (rule.protein or rule.codons or rule.codon_range or rule.change_types):
        return "match", None
    change = finding.protein
    if change is None:
        return "uncertain", f"{finding.label}: no protein change the service can read"
    if rule.protein and change.text not in _normal_changes(tuple(rule.protein)):
        return "other", None
    if rule.codons and change.start not in rule.codons:
        return "other", None
    if rule.codon_range is not None:
        low, high = rule.codon_range
        if not (low <= change.start and change.end <= high):
            return "other", None
    if rule.change_types and change.kind not in rule.change_types:
        return "other", None
    return "match", None


def _normal_changes(changes: tuple[str, ...]) -> frozenset[str]:
    found = set()
    for text in changes:
        parsed = parse_protein_change(text)
        found.add(parsed.text if parsed is not None else text)
    return frozenset(found)


def _fusion_verdict(marker: Marker, finding: Finding) -> tuple[str, str | None]:
    rule = marker.fusion
    assert rule is not None
    if finding.iscn and rule.iscn:
        written = finding.iscn.replace(" ", "")
        if any(t.replace(" ", "") in written for t in rule.iscn):
            return "match", None
    genes = set(marker.genes)
    if finding.gene not in genes and not finding.partners & genes:
        # Read for its ISCN only (another translocation): it says nothing about this fusion.
        return "other", None
    if finding.kind == "rearrangement" and not finding.partners:
        return "other", None
    partners = finding.partners - genes
    if rule.partners and not partners & set(rule.partners):
        if not partners:
            return "uncertain", f"{finding.label}: the fusion partner is not stated"
        return "other", None
    return "match", None


def _copy_verdict(marker: Marker, finding: Finding) -> tuple[str, str | None]:
    rule = marker.copy_number
    assert rule is not None
    if finding.copy_change == rule.change:
        return "match", None
    if finding.copy_change is not None:
        return "other", None
    if rule.change in ("gain", "amplification") and finding.copy_number is not None:
        if rule.min_copies is None:
            return "uncertain", f"{finding.label}: {finding.copy_number:g} copies, no threshold"
        return ("match" if finding.copy_number >= rule.min_copies else "other"), None
    return "uncertain", f"{finding.label}: copy change not stated"


def _biomarker_verdict(rule: BiomarkerMatch, result: BiomarkerResult) -> str:
    """``positive``, ``negative`` or ``uncertain`` by the coded/text answers, then the value."""
    answers = {a.lower() for a in result.answers}
    if answers & {a.lower() for a in rule.positive}:
        return "positive"
    if answers & {a.lower() for a in rule.negative}:
        return "negative"
    if rule.at_least is not None and result.value is not None:
        if (
            rule.unit is not None
            and result.unit is not None
            and not _same_unit(rule.unit, result.unit)
        ):
            return "uncertain"
        return "positive" if result.value >= rule.at_least else "negative"
    return "uncertain"


def _same_unit(wanted: str, given: str) -> bool:
    """Units compared by their letters: "mut/Mb", "mutations/Mb", "/[Mb]" are one unit."""

    def simple(unit: str) -> str:
        letters = re.sub(r"[^a-z%]", "", unit.lower())
        return letters.removeprefix("mutations").removeprefix("mut")

    return simple(wanted) == simple(given)
