"""Diplotype → phenotype, the CPIC way: a lookup in the gene's published table, allele order ignored."""

from __future__ import annotations

import re
from collections.abc import Mapping

from knowledge.schema import DiplotypeEntry, GeneTable

__all__ = ["DiplotypeIndex", "normalize_diplotype"]

_SEPARATOR = re.compile(r"\s*/\s*")


def normalize_diplotype(diplotype: str) -> tuple[str, ...] | None:
    """``"*2/*1"`` and ``"*1 / *2"`` both become ``("*1", "*2")``; ``None`` if not two alleles."""
    alleles = tuple(part.strip() for part in _SEPARATOR.split(diplotype.strip()))
    if len(alleles) != 2 or not all(alleles):
        return None
    return tuple(sorted(alleles))


class DiplotypeIndex:
    """A gene table indexed by unordered allele pair, built once when knowledge loads."""

    def __init__(self, table: GeneTable) -> None:
        self.table = table
        self._by_pair: dict[tuple[str, ...], tuple[str, DiplotypeEntry]] = {}
        for diplotype, entry in table.diplotypes.items():
            pair = normalize_diplotype(diplotype)
            if pair is not None:
                self._by_pair[pair] = (diplotype, entry)

    def lookup(self, diplotype: str) -> tuple[str, DiplotypeEntry] | None:
        """The table's own spelling of the diplotype and its entry, or ``None`` if it is not there."""
        pair = normalize_diplotype(diplotype)
        return None if pair is None else self._by_pair.get(pair)

    @property
    def lookup_keys(self) -> frozenset[str]:
        return frozenset(entry.key for _, entry in self._by_pair.values())


def index_genes(tables: Mapping[str, GeneTable]) -> dict[str, DiplotypeIndex]:
    return {gene: DiplotypeIndex(table) for gene, table in tables.items()}
