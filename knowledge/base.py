"""The loaded knowledge base: gene tables, drugs and guidelines, indexed for the hook's hot path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from knowledge.phenotype import DiplotypeIndex
from knowledge.schema import Drug, GeneTable, Guideline

__all__ = ["KnowledgeBase"]


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the evaluator needs; built once by the loader and never mutated afterwards."""

    genes: Mapping[str, GeneTable]
    drugs: Mapping[str, Drug]
    guidelines: Mapping[str, Guideline]
    version: str
    diplotype_index: Mapping[str, DiplotypeIndex] = field(init=False)
    guidelines_by_drug: Mapping[str, tuple[Guideline, ...]] = field(init=False)
    genes_by_hgnc: Mapping[str, str] = field(init=False)
    drugs_by_rxnorm: Mapping[str, str] = field(init=False)

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
        object.__setattr__(
            self, "drugs_by_rxnorm", {drug.rxnorm: name for name, drug in self.drugs.items()}
        )

    @property
    def summary(self) -> dict[str, object]:
        return {
            "version": self.version,
            "genes": sorted(self.genes),
            "guidelines": sorted(self.guidelines),
            "drugs": len(self.drugs),
        }
