"""The loaded knowledge base: gene tables, drugs and guidelines, indexed for the hook's hot path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge.oncology import OncologyKnowledge
from knowledge.phenotype import DiplotypeIndex
from knowledge.schema import (
    DoseAlgorithm,
    Drug,
    GeneTable,
    Guideline,
    InhibitorTable,
    PretestTable,
)

__all__ = ["KnowledgeBase", "allele_only_loci"]


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the evaluator needs; built once by the loader and never mutated afterwards."""

    genes: Mapping[str, GeneTable]
    drugs: Mapping[str, Drug]
    guidelines: Mapping[str, Guideline]
    version: str
    # Gene -> clinical inhibitors of its enzyme (knowledge/interactions/<GENE>.yaml).
    inhibitors: Mapping[str, InhibitorTable] = field(default_factory=dict)
    # Drugs whose label calls for a test before use (knowledge/pretest.yaml).
    pretest: PretestTable | None = None
    # dose_calculation id -> the published algorithm (knowledge/dose_algorithms/).
    dose_algorithms: Mapping[str, DoseAlgorithm] = field(default_factory=dict)
    # Targeted drugs and the tumour biomarkers their labels name (knowledge/oncology/).
    oncology: OncologyKnowledge | None = None
    diplotype_index: Mapping[str, DiplotypeIndex] = field(init=False)
    guidelines_by_drug: Mapping[str, tuple[Guideline, ...]] = field(init=False)
    genes_by_hgnc: Mapping[str, str] = field(init=False)
    drugs_by_rxnorm: Mapping[str, str] = field(init=False)
    # Guideline id → genes and variants it reads only by their alleles (see allele_only_loci).
    allele_only: Mapping[str, frozenset[str]] = field(init=False)
    # Guideline id -> genes and variants some row reads (by lookup key or flowchart condition).
    loci_read: Mapping[str, frozenset[str]] = field(init=False)
    # rsIDs of the single variants some guideline reads (warfarin's rs12777823).
    variants: frozenset[str] = field(init=False)
    # RxNorm -> name of guideline drugs and of drugs known only as co-medications.
    substances_by_rxnorm: Mapping[str, str] = field(init=False)
    # Answers worked out from this knowledge alone, kept for its lifetime (drug_needs).
    _memo: dict[tuple[str, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _drug_names: Mapping[str, str] = field(init=False, repr=False)
    _drug_pattern: re.Pattern[str] | None = field(init=False, repr=False)
    _substance_names: Mapping[str, str] = field(init=False, repr=False)
    _substance_pattern: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_drug: dict[str, list[Guideline]] = {}
        for guideline in self.guidelines.values():
            if guideline.status == "retired":
                continue
            for drug in guideline.drugs:
                by_drug.setdefault(drug, []).append(guideline)
        # frozen dataclass: derived indexes are set once here.
        object.__setattr__(self, "guidelines_by_drug", {k: tuple(v) for k, v in by_drug.items()})
        object.__setattr__(
            self, "diplotype_index", {g: DiplotypeIndex(t) for g, t in self.genes.items()}
        )
        object.__setattr__(
            self,
            "genes_by_hgnc",
            {t.hgnc_id: g for g, t in self.genes.items() if t.hgnc_id is not None},
        )
        by_rxnorm = {
            drug.rxnorm: name for name, drug in self.drugs.items() if drug.rxnorm is not None
        }
        targeted = self.oncology.drugs if self.oncology is not None else {}
        for name, rules in targeted.items():
            if rules.rxnorm is not None:
                by_rxnorm.setdefault(rules.rxnorm, name)
        object.__setattr__(self, "drugs_by_rxnorm", by_rxnorm)
        # Drugs read only as co-medications (inhibitors, a dose algorithm's inputs) are known for
        # matching a medication list, never an order: a combination product must not become
        # ambiguous because one ingredient is a weak inhibitor.
        others = self._interacting_drugs()
        substances = dict(by_rxnorm)
        for name, (rxnorm, _) in others.items():
            if rxnorm is not None:
                substances.setdefault(rxnorm, name)
        object.__setattr__(self, "substances_by_rxnorm", substances)
        object.__setattr__(
            self, "allele_only", {i: allele_only_loci(g) for i, g in self.guidelines.items()}
        )
        object.__setattr__(
            self,
            "loci_read",
            {
                i: frozenset(
                    locus for rec in g.recommendations for locus in (*rec.lookup_key, *rec.when)
                )
                for i, g in self.guidelines.items()
            },
        )
        object.__setattr__(
            self,
            "variants",
            frozenset(rsid for g in self.guidelines.values() for rsid in g.variants),
        )
        names = {
            word.lower(): name
            for name, rules in targeted.items()
            for word in (name, *rules.synonyms)
        } | {
            word.lower(): name
            for name, drug in self.drugs.items()
            for word in (name, *drug.synonyms)
        }
        substance_names = {
            word.lower(): name
            for name, (_, synonyms) in others.items()
            for word in (name, *synonyms)
        } | names
        object.__setattr__(self, "_substance_names", substance_names)
        object.__setattr__(self, "_substance_pattern", _alternation(substance_names))
        object.__setattr__(self, "_drug_names", names)
        object.__setattr__(self, "_drug_pattern", _alternation(names))

    def _interacting_drugs(self) -> dict[str, tuple[str | None, tuple[str, ...]]]:
        """Name -> (RxNorm, synonyms) of inhibitors and dose-algorithm drugs."""
        found: dict[str, tuple[str | None, tuple[str, ...]]] = {}
        for table in self.inhibitors.values():
            for name, inhibitor in table.inhibitors.items():
                found.setdefault(name, (inhibitor.rxnorm, tuple(inhibitor.synonyms)))
        for algorithm in self.dose_algorithms.values():
            for term in (algorithm.enzyme_inducer, algorithm.amiodarone):
                for name, drug in term.drugs.items():
                    found.setdefault(name, (drug.rxnorm, tuple(drug.synonyms)))
        return found

    def drug_named_in(self, text: str, *, substances: bool = False) -> str | None:
        """The drug whose name or synonym appears as a word in ``text`` (any case), if any.

        ``substances``: also the drugs known only as co-medications (inhibitors …).
        """
        pattern = self._substance_pattern if substances else self._drug_pattern
        if pattern is None:
            return None
        match = pattern.search(text.lower())
        names = self._substance_names if substances else self._drug_names
        return names[match.group(0)] if match else None

    @property
    def summary(self) -> dict[str, object]:
        return {
            "version": self.version,
            "genes": sorted(self.genes),
            "guidelines": sorted(self.guidelines),
            "drugs": len(self.drugs),
        }


def _alternation(names: Mapping[str, str]) -> re.Pattern[str] | None:
    """One compiled alternation, longest names first, instead of a regex per drug per order."""
    if not names:
        return None
    alternation = "|".join(re.escape(w) for w in sorted(names, key=len, reverse=True))
    # Not after a word and a hyphen: "ado-trastuzumab emtansine" and "fam-trastuzumab
    # deruxtecan" are other drugs than trastuzumab; "5-fluorouracil" still names fluorouracil.
    return re.compile(rf"(?<![a-z]-)\b(?:{alternation})\b")


def allele_only_loci(guideline: Guideline) -> frozenset[str]:
    """Loci the guideline reads only through ``carries``/``tested`` conditions, never by phenotype.

    For these a result with known alleles but no CPIC phenotype (CYP4F2) is still readable.
    """
    keyed = {gene for rec in guideline.recommendations for gene in rec.lookup_key}
    keyed |= {
        locus
        for rec in guideline.recommendations
        for locus, condition in rec.when.items()
        if condition.phenotype
    }
    named = {locus for rec in guideline.recommendations for locus in rec.when}
    return frozenset(named - keyed)
