"""Phenoconversion: a strong or moderate inhibitor taken with the drug changes the phenotype used."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from knowledge.gene_call import Conversion, GeneCall
from knowledge.patient import Comedication
from knowledge.phenotype import ActivityScore
from knowledge.schema import GeneTable, InhibitorTable, Phenoconversion

__all__ = ["InhibitorTaken", "inhibitors_taken", "phenoconvert"]

Converting = Literal["strong", "moderate"]
# Returns the call unconverted, its Conversion saying why.
_Unconverted = Callable[[str], GeneCall]

# Strongest first; weak inhibitors never convert (CPIC states a rule for strong and moderate only).
_RANK: dict[str, int] = {"strong": 0, "moderate": 1}
_AT_LEAST = "≥"


@dataclass(frozen=True, slots=True)
class InhibitorTaken:
    """A co-medication found in the gene's inhibitor table, strong or moderate."""

    drug: str
    strength: Converting
    # Where the co-medication was read ("MedicationRequest/7 (active)").
    source: str


def inhibitors_taken(table: InhibitorTable, taken: Sequence[Comedication]) -> list[InhibitorTaken]:
    """The strong and moderate inhibitors among ``taken``, strongest first, each drug once.

    Matched by the table's drug name or a synonym, case ignored.
    """
    names: dict[str, str] = {}
    for name, inhibitor in table.inhibitors.items():
        for spelling in (name, *inhibitor.synonyms):
            names.setdefault(spelling.casefold(), name)
    found: dict[str, InhibitorTaken] = {}
    for medication in taken:
        listed = names.get(medication.drug.strip().casefold())
        if listed is None or listed in found:
            continue
        strength = table.inhibitors[listed].strength
        if strength == "weak":
            continue
        found[listed] = InhibitorTaken(listed, strength, medication.source)
    return sorted(found.values(), key=lambda i: (_RANK[i.strength], i.drug))


def phenoconvert(
    call: GeneCall,
    table: InhibitorTable,
    gene: GeneTable,
    taken: Sequence[Comedication],
    drug: str | None = None,
) -> GeneCall:
    """``call`` with the phenotype its gene has under the strongest inhibitor in ``taken``.

    ``taken`` must not hold the drug being ordered: a drug never converts the gene its own
    recommendation is looked up by (the caller leaves the order out). With no strong or moderate
    inhibitor the same object is returned. With one, the call carries a ``Conversion``: applied,
    with the converted phenotype, activity score and lookup key; or not applied (no readable
    phenotype, no sourced rule, or a score the rule cannot place), with the genotype's phenotype
    kept so that the card can still name the inhibitor. ``drug``, the drug being ordered: a
    rule stated for other drugs only (``Phenoconversion.drugs``) is not applied to it.
    """
    if table.gene != call.gene or gene.gene != call.gene:
        raise ValueError(f"tables for {table.gene}/{gene.gene} given for a {call.gene} call")
    found = inhibitors_taken(table, taken)
    if not found:
        return call
    strongest = found[0].strength
    names = tuple((i.drug, i.strength, i.source) for i in found)

    def unconverted(why: str) -> GeneCall:
        conversion = Conversion(call.phenotype, call.activity_score, names, False, why)
        return replace(call, conversion=conversion)

    rule = table.phenoconversion
    if call.result is None or call.phenotype is None or not call.lookup_keys:
        return unconverted(f"no {call.gene} phenotype was read from the genotype to convert")
    if rule is not None and rule.drugs and drug is not None and drug not in rule.drugs:
        return unconverted(
            f"the source's rule is stated for {', '.join(rule.drugs)}, not {drug}; "
            "the phenotype may be lower than the genotype predicts"
        )
    if rule is None:
        return unconverted(
            f"no published rule converts {call.gene} phenotypes under inhibitors; "
            "the phenotype may be lower than the genotype predicts"
        )
    basis = f"{rule.source}: {rule.quote}"
    if rule.activity_score_factor:
        return _by_activity_score(call, rule, gene, strongest, names, basis, unconverted)
    return _by_phenotype(call, rule, gene, strongest, names, basis, unconverted)


def _by_activity_score(
    call: GeneCall,
    rule: Phenoconversion,
    gene: GeneTable,
    strongest: Converting,
    names: tuple[tuple[str, str, str], ...],
    basis: str,
    unconverted: _Unconverted,
) -> GeneCall:
    factor = rule.activity_score_factor.get(strongest)
    if factor is None:
        return unconverted(f"the rule gives no activity score factor for a {strongest} inhibitor")
    score = ActivityScore.parse(call.activity_score) if call.activity_score else None
    if score is None:
        return unconverted(f"the {call.gene} result has no activity score to convert")
    key = _score_key(score, Decimal(str(factor)), gene.activity_score_phenotypes)
    if key is None:
        return unconverted(
            f"activity score {call.activity_score} x {factor} is not a score the {call.gene} "
            "table places in one phenotype"
        )
    conversion = Conversion(call.phenotype, call.activity_score, names, True, basis)
    return replace(
        call,
        phenotype=gene.activity_score_phenotypes[key],
        activity_score=key,
        lookup_keys=frozenset({key}),
        # Rows keyed on the diplotype itself describe the genotype, not the patient now.
        diplotype_key=None,
        conversion=conversion,
    )


def _by_phenotype(
    call: GeneCall,
    rule: Phenoconversion,
    gene: GeneTable,
    strongest: Converting,
    names: tuple[tuple[str, str, str], ...],
    basis: str,
    unconverted: _Unconverted,
) -> GeneCall:
    after = rule.phenotype_after.get(strongest, {}).get(call.phenotype or "")
    if after is None or after == call.phenotype:
        return unconverted(f"the rule does not change {call.phenotype} for a {strongest} inhibitor")
    entries = [*gene.diplotypes.values(), *gene.function_phenotypes.values()]
    keys = {entry.key for entry in entries if entry.phenotype == after}
    conversion = Conversion(call.phenotype, call.activity_score, names, True, basis)
    return replace(
        call,
        phenotype=after,
        activity_score=None,
        lookup_keys=frozenset(keys if len(keys) == 1 else {after}),
        diplotype_key=None,
        conversion=conversion,
    )


def _score_key(score: ActivityScore, factor: Decimal, phenotypes: dict[str, str]) -> str | None:
    """The gene table's key for ``score`` x ``factor``, or ``None`` if the table cannot place it.

    An exact table score is used as it is. A product between two table scores (0.25 x 0.5) is
    rounded to the nearer one, halves upwards, but only when both give the same phenotype: the
    rule does not say which side of a phenotype boundary such a score falls. A lower bound
    (``≥3.0`` x 0.5) stays a lower bound and is used only if the table has that exact key.
    """
    product = score.value * factor
    at_least = score.at_least and product != 0
    exact = (_AT_LEAST if at_least else "") + _spelling(product)
    if exact in phenotypes:
        return exact
    if at_least:
        return None
    scores = sorted(
        (Decimal(key), key) for key in phenotypes if key[:1].isdigit() and _is_number(key)
    )
    below = [entry for entry in scores if entry[0] <= product]
    above = [entry for entry in scores if entry[0] >= product]
    if not below or not above:
        return None
    (low, low_key), (high, high_key) = below[-1], above[0]
    if phenotypes[low_key] != phenotypes[high_key]:
        return None
    return low_key if product - low < high - product else high_key


def _spelling(value: Decimal) -> str:
    """CPIC's spelling of a score ("0.0", "1.25"); more places if the value needs them."""
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction or '0'}"


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
