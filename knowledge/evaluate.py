"""Match a patient's gene results against the guidelines for one drug."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from knowledge.base import KnowledgeBase
from knowledge.gene_call import NO_RESULT, Conversion, GeneCall
from knowledge.patient import Comedication, PatientFactors
from knowledge.patient_conditions import Fit, fits
from knowledge.phenoconversion import phenoconvert
from knowledge.results import GeneResult
from knowledge.schema import Guideline, PatientCondition, Recommendation, Variant

__all__ = [
    "URGENCY",
    "Conversion",
    "DrugNeeds",
    "Evaluation",
    "GeneCall",
    "call_gene",
    "call_variant",
    "conditions_of",
    "drug_needs",
    "evaluate",
    "indicator_for",
]

_SILENT_ACTIONS = frozenset({"standard", "no-recommendation"})
_FIRM = frozenset({"strong", "moderate", "not graded"})
# Card indicators, least to most urgent.
URGENCY = {"info": 0, "warning": 1, "critical": 2}
_STRENGTH_RANK = {"strong": 3, "moderate": 2, "not graded": 2, "optional": 1}
_GENOTYPE_SEPARATOR = re.compile(r"\s*[/|]\s*")


def indicator_for(rec: Recommendation) -> str:
    """How urgent a recommendation is (the table is in docs/cards.md); the YAML may override it."""
    if rec.indicator is not None:
        return rec.indicator
    if rec.action == "contraindicated":
        return "critical"
    # DPWG does not grade; its actionable advice is issued as an alert, so it is treated as firm.
    if rec.action in ("alternative", "dose-adjustment") and rec.strength in _FIRM:
        return "warning"
    return "info"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One guideline applied to one drug for one patient."""

    guideline: Guideline
    drug: str
    calls: tuple[GeneCall, ...]
    recommendations: tuple[Recommendation, ...]
    # Genes and variants this guideline reads by their alleles alone (KnowledgeBase.allele_only).
    allele_only: frozenset[str] = frozenset()
    # Genes read only in part (HLA-B*15:02 reported, *57:01 not) that no row of this guideline
    # could match: the result on file does not answer the guideline's question.
    unanswered: frozenset[str] = frozenset()
    # Rows matched by genotype whose patient conditions (age, ancestry …) the record cannot
    # decide: recommendation id -> the missing factors. They stay in ``recommendations`` so the
    # card can show them, saying what is missing; rows known not to fit the patient are dropped.
    undecided: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The patient factors the evaluation used (None: none were given).
    patient: PatientFactors | None = None
    # Genes and variants some row of the guideline reads (a label rule on age reads none).
    read_loci: frozenset[str] = frozenset()
    # The co-medications the evaluation was given (dose algorithms read them too).
    comedications: tuple[Comedication, ...] = ()

    @property
    def actionable(self) -> tuple[Recommendation, ...]:
        """The matched recommendations that ask the prescriber to do something different."""
        return tuple(r for r in self.recommendations if r.action not in _SILENT_ACTIONS)

    @property
    def decided(self) -> tuple[Recommendation, ...]:
        """The actionable rows known to fit the patient (no patient factor missing)."""
        return tuple(r for r in self.actionable if r.id not in self.undecided)

    @property
    def uninterpretable(self) -> tuple[GeneCall, ...]:
        """Results on file that the CPIC tables cannot turn into a phenotype (never guessed).

        Only loci some row reads count: a label rule on age alone reads no genotype.
        """
        return tuple(
            c
            for c in self.calls
            if c.result is not None
            and c.gene in self.read_loci
            and (
                c.gene in self.unanswered
                or (not c.lookup_keys and not (c.gene in self.allele_only and c.alleles))
            )
        )

    @property
    def lead(self) -> Recommendation | None:
        """The most urgent, then strongest, actionable recommendation: it speaks for the card.

        Rows known to fit the patient speak first; an undecided row only when there is no other.
        """
        return max(
            self.decided or self.actionable,
            key=lambda r: (URGENCY[indicator_for(r)], _STRENGTH_RANK.get(r.strength, 0)),
            default=None,
        )

    @property
    def indicator(self) -> str | None:
        """The card's urgency, or ``None`` when no card is due (see docs/cards.md).

        Advice that may apply (a factor that would decide it is missing) keeps its urgency: the
        prescriber must not miss it; the card says what to check.
        """
        if self.lead is not None:
            return indicator_for(self.lead)
        return "info" if self.uninterpretable else None

    @property
    def alternatives(self) -> dict[str, set[str | None]]:
        """Each suggested drug with the populations whose recommendation names it, strongest first."""
        found: dict[str, set[str | None]] = {}
        ranked = sorted(
            self.actionable, key=lambda r: _STRENGTH_RANK.get(r.strength, 0), reverse=True
        )
        for rec in ranked:
            for alternative in rec.alternatives:
                found.setdefault(alternative.drug, set()).add(rec.population)
        return found


def call_gene(kb: KnowledgeBase, gene: str, result: GeneResult | None) -> GeneCall:
    """Phenotype from the diplotype via CPIC's data; a reported phenotype only when no diplotype."""
    if result is None:
        return GeneCall(gene, None, note=f"no {gene} result on file")
    index = kb.diplotype_index.get(gene)
    if index is None:
        return GeneCall(
            gene, result, diplotype=result.diplotype, note=f"no {gene} table in the knowledge base"
        )
    if result.diplotype:
        found = index.call(result.diplotype)
        pair = index.split(result.diplotype) or ()
        known = pair if all(a in index.table.alleles for a in pair) else ()
        if found is None:
            return GeneCall(
                gene,
                result,
                diplotype="/".join(known) if known else result.diplotype,
                note=f"{gene} {result.diplotype} is not in the CPIC tables",
                alleles=known,
            )
        return GeneCall(
            gene,
            result,
            diplotype=found.diplotype,
            phenotype=found.phenotype,
            activity_score=found.activity_score,
            lookup_keys=found.lookup_keys,
            method=found.method,
            diplotype_key=found.diplotype_key,
            alleles=known,
        )
    if result.carriers or result.non_carriers:
        return _call_carrier_status(gene, result, index.table.alleles_of_interest)
    reported = result.reported_phenotype
    if reported and reported in index.lookup_keys:
        return GeneCall(
            gene,
            result,
            phenotype=index.phenotype_of(reported) or reported,
            lookup_keys=frozenset({reported}),
            method="reported",
        )
    return GeneCall(
        gene, result, note=f"{gene} result has neither a diplotype nor a CPIC phenotype"
    )


def _call_carrier_status(
    gene: str, result: GeneResult, alleles_of_interest: Sequence[str]
) -> GeneCall:
    """Keys for the alleles of interest whose presence or absence was reported; no others guessed."""
    keys = {f"{a} positive" for a in alleles_of_interest if a in result.carriers}
    keys |= {
        f"{a} negative"
        for a in alleles_of_interest
        if a in result.non_carriers and a not in result.carriers
    }
    unknown = [a for a in alleles_of_interest if not {f"{a} positive", f"{a} negative"} & keys]
    positives = [a for a in alleles_of_interest if f"{a} positive" in keys]
    note = f"{gene} {', '.join(unknown)} status not reported" if unknown else None
    if not keys:
        return GeneCall(gene, result, note=note)
    phenotype = (
        ", ".join(f"{a} positive" for a in positives)
        if positives
        else "negative for " + ", ".join(a for a in alleles_of_interest if a not in unknown)
    )
    return GeneCall(
        gene,
        result,
        phenotype=phenotype,
        lookup_keys=frozenset(keys),
        method="carrier status",
        note=note,
        partial=bool(unknown),
    )


def call_variant(rsid: str, variant: Variant, result: GeneResult | None) -> GeneCall:
    """A single variant's genotype (``G/A``), reference allele first; only its own alleles."""
    if result is None:
        return GeneCall(rsid, None, note=f"no {rsid} result on file")
    text = (result.diplotype or "").strip()
    alleles = tuple(a for a in _GENOTYPE_SEPARATOR.split(text) if a)
    allowed = [variant.ref, *variant.alt]
    if not 1 <= len(alleles) <= 2 or any(a not in allowed for a in alleles):
        return GeneCall(
            rsid,
            result,
            diplotype=text or None,
            note=f"{rsid} genotype {text!r} is not two of {', '.join(allowed)}",
        )
    ordered = tuple(sorted(alleles, key=allowed.index))
    return GeneCall(rsid, result, diplotype="/".join(ordered), method="genotype", alleles=ordered)


def _most_specific(
    matched: list[Recommendation], calls: tuple[GeneCall, ...]
) -> tuple[Recommendation, ...]:
    """A row keyed on the patient's exact diplotype wins over rows keyed on the phenotype (DPWG)."""
    for call in calls:
        if call.diplotype_key is None:
            continue
        exact = [r for r in matched if r.lookup_key.get(call.gene) == call.diplotype_key]
        if exact:
            matched = [r for r in matched if r in exact or call.gene not in r.lookup_key]
    return tuple(matched)


def evaluate(
    kb: KnowledgeBase,
    drug: str,
    results: Mapping[str, GeneResult],
    *,
    patient: PatientFactors | None = None,
    comedications: Sequence[Comedication] = (),
) -> list[Evaluation]:
    """Every guideline covering ``drug``, with the recommendations the patient's results select.

    ``comedications`` that inhibit a gene's enzyme convert its phenotype first (the ordered drug
    itself never counts); ``patient`` factors then keep, drop or mark undecided the rows that
    depend on them.
    """
    taken = [c for c in comedications if c.drug != drug]
    evaluations = []
    for guideline in kb.guidelines_by_drug.get(drug, ()):
        calls = tuple(
            _converted(kb, drug, call_gene(kb, gene, results.get(gene)), taken)
            for gene in guideline.genes
        )
        calls += tuple(
            call_variant(rsid, variant, results.get(rsid))
            for rsid, variant in guideline.variants.items()
        )
        allele_only = kb.allele_only[guideline.id]
        by_locus = {call.gene: call for call in calls}
        matched = [
            rec
            for rec in guideline.recommendations
            if rec.drug == drug and _selects(rec, by_locus, allele_only)
        ]
        unanswered = _unanswered(guideline, drug, calls, matched)
        kept, undecided = _fitting(guideline, _most_specific(matched, calls), patient)
        evaluations.append(
            Evaluation(
                guideline,
                drug,
                calls,
                kept,
                allele_only,
                unanswered,
                undecided,
                patient,
                kb.loci_read[guideline.id],
                tuple(taken),
            )
        )
    return evaluations


def _converted(
    kb: KnowledgeBase, drug: str, call: GeneCall, taken: Sequence[Comedication]
) -> GeneCall:
    table = kb.inhibitors.get(call.gene)
    if table is None or not taken or call.gene not in kb.genes:
        return call
    return phenoconvert(call, table, kb.genes[call.gene], taken, drug)


class DrugNeeds(NamedTuple):
    """What a drug's rules read beyond the genotypes, so a hook call fetches only that."""

    # Age, sex, weight, pregnancy, eGFR or ancestry (a row's conditions, a dose algorithm).
    factors: bool
    # The medication list fetched when not prefetched: a rule converts the phenotype, or a dose
    # algorithm reads the drugs. A prefetched list is always read (an inhibitor is named).
    medications: bool


def drug_needs(kb: KnowledgeBase, drug: str) -> DrugNeeds:
    """What ``drug``'s rules need; worked out once per knowledge base (it scans every row)."""
    key = ("drug_needs", drug)
    needs = kb._memo.get(key)
    if not isinstance(needs, DrugNeeds):
        needs = kb._memo[key] = _scan_needs(kb, drug)
    return needs


def _scan_needs(kb: KnowledgeBase, drug: str) -> DrugNeeds:
    guidelines = kb.guidelines_by_drug.get(drug, ())
    rows = [(g, rec) for g in guidelines for rec in g.recommendations if rec.drug == drug]
    factors = any(conditions_of(g, rec) or rec.dose_calculation for g, rec in rows)
    converting = False
    for guideline in guidelines:
        for gene in guideline.genes:
            table = kb.inhibitors.get(gene)
            rule = table.phenoconversion if table is not None else None
            if rule is not None and (not rule.drugs or drug in rule.drugs):
                converting = True
    medications = converting or any(rec.dose_calculation for _, rec in rows)
    return DrugNeeds(factors, medications)


def conditions_of(guideline: Guideline, rec: Recommendation) -> list[PatientCondition]:
    """The patient conditions a row needs: its own and its population's."""
    found = [rec.patient] if rec.patient is not None else []
    population = guideline.populations.get(rec.population) if rec.population else None
    if population is not None and population.applies_to is not None:
        found.append(population.applies_to)
    return found


def _fitting(
    guideline: Guideline, matched: tuple[Recommendation, ...], patient: PatientFactors | None
) -> tuple[tuple[Recommendation, ...], dict[str, tuple[str, ...]]]:
    kept = []
    undecided: dict[str, tuple[str, ...]] = {}
    for rec in matched:
        fit: Fit = fits(conditions_of(guideline, rec), patient)
        if fit.holds is False:
            continue
        if fit.holds is None:
            if not (rec.lookup_key or rec.when):
                # A rule on patient factors alone would otherwise speak for every patient whose
                # record lacks the factor (every adult without a birth date): no card of its own.
                continue
            undecided[rec.id] = fit.missing
        kept.append(rec)
    return tuple(kept), undecided


def _unanswered(
    guideline: Guideline, drug: str, calls: tuple[GeneCall, ...], matched: list[Recommendation]
) -> frozenset[str]:
    """Partially read genes that the guideline asks about but none of its rows could match.

    Only partial readings count: a full reading that no row names is by design (DPWG lists only
    the phenotypes it advises on).
    """
    partial = [c for c in calls if c.partial and c.lookup_keys]
    if not partial:
        return frozenset()
    keyed = {gene for r in guideline.recommendations if r.drug == drug for gene in r.lookup_key}
    return frozenset(
        c.gene
        for c in partial
        if c.gene in keyed and not any(c.gene in r.lookup_key for r in matched)
    )


def _selects(
    rec: Recommendation, by_locus: Mapping[str, GeneCall], allele_only: frozenset[str]
) -> bool:
    """A table row by its lookup key; a flowchart rule by every one of its conditions."""
    if rec.when:
        return all(
            locus in by_locus and by_locus[locus].satisfies(condition, locus in allele_only)
            for locus, condition in rec.when.items()
        )
    return all(
        value in (by_locus[gene].match_keys if gene in by_locus else NO_RESULT)
        for gene, value in rec.lookup_key.items()
    )
