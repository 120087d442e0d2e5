"""Diplotype → phenotype and lookup key, the CPIC way, for each of the three kinds of gene.

- ``phenotype`` genes: the published diplotype table, allele order ignored.
- ``activity_score`` genes (CYP2D6, CYP2C9, DPYD): the sum of the two alleles' activity values,
  mapped to a phenotype by CPIC's score table; duplications (``*1x2``) count each copy.
- ``allele_status`` genes (HLA-A, HLA-B): each allele of interest is ``positive`` or ``negative``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from knowledge.schema import GeneTable

__all__ = [
    "ActivityScore",
    "DiplotypeCall",
    "DiplotypeIndex",
    "normalize_diplotype",
]

_SEPARATOR = re.compile(r"\s*/\s*")
# "*1x3", "*2X2", "*1\u00d72": a star allele and how many copies of it sit on one chromosome.
_COPIES = re.compile("^(?P<allele>.+?)\\s*[xX\u00d7]\\s*(?P<copies>≥?\\d+)$")
_AT_LEAST = "≥"
_DIGITS = re.compile(r"(\d+)")


def _natural(allele: str) -> tuple[tuple[int, str], ...]:
    """Sort key putting ``*2`` before ``*17``, as CPIC writes diplotypes."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in _DIGITS.split(allele))


_T = TypeVar("_T")
# Texts remembered per gene table and question; past this the memory starts again, empty.
_MEMO_SIZE = 4096


def _remember(memo: dict[str, _T], key: str, value: _T) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


def normalize_diplotype(diplotype: str) -> tuple[str, ...] | None:
    """``"*2/*1"`` and ``"*1 / *2"`` both become ``("*1", "*2")``; ``None`` if not two alleles."""
    alleles = tuple(part.strip() for part in _SEPARATOR.split(diplotype.strip()))
    if len(alleles) != 2 or not all(alleles):
        return None
    return tuple(sorted(alleles, key=_natural))


@dataclass(frozen=True, slots=True)
class ActivityScore:
    """A CPIC activity score; ``at_least`` for copy numbers CPIC writes as ``≥3``."""

    value: Decimal
    at_least: bool = False

    @classmethod
    def parse(cls, text: str) -> ActivityScore | None:
        at_least = text.startswith(_AT_LEAST)
        try:
            return cls(Decimal(text.removeprefix(_AT_LEAST)), at_least)
        except InvalidOperation:
            return None  # "n/a": the allele's function is unknown, so is the score

    def plus(self, other: ActivityScore) -> ActivityScore:
        return ActivityScore(self.value + other.value, self.at_least or other.at_least)

    def __str__(self) -> str:
        # CPIC spells scores with at least one decimal: "1.0", "1.25", "≥3.0".
        text = f"{self.value:.2f}".rstrip("0")
        text = text + "0" if text.endswith(".") else text
        return (_AT_LEAST if self.at_least else "") + text


@dataclass(frozen=True, slots=True)
class DiplotypeCall:
    """What a diplotype means for one gene; ``lookup_keys`` are what recommendations match on."""

    diplotype: str
    phenotype: str
    lookup_keys: frozenset[str]
    activity_score: str | None = None
    # How it was found, shown by `pgx-cds knowledge explain`.
    method: str = "table"

    @property
    def diplotype_key(self) -> str:
        """The alleles sorted, for the few (DPWG) recommendations keyed on the diplotype itself."""
        return "/".join(sorted(self.diplotype.split("/"))) if self.diplotype else ""


class DiplotypeIndex:
    """One gene table, prepared once when knowledge loads, answering diplotype → call."""

    def __init__(self, table: GeneTable) -> None:
        self.table = table
        self._alleles = frozenset(table.alleles)
        # Answers already worked out, by the text asked about: a hook call asks the same few
        # diplotypes of each gene again and again (reading the result, then each guideline).
        # Bounded, since the texts come from requests; both answers are immutable.
        self._split_memo: dict[str, tuple[str, ...] | None] = {}
        self._call_memo: dict[str, DiplotypeCall | None] = {}
        self._by_pair: dict[tuple[str, ...], tuple[str, str, str | None, str]] = {}
        for diplotype, entry in table.diplotypes.items():
            pair = self.split(diplotype)
            if pair is not None:
                self._by_pair[pair] = (diplotype, entry.phenotype, entry.activity_score, entry.key)
        keys = {key for *_, key in self._by_pair.values()}
        keys.update(table.activity_score_phenotypes)
        keys.update(entry.key for entry in table.function_phenotypes.values())
        for allele in table.alleles_of_interest:
            keys.update({f"{allele} positive", f"{allele} negative"})
        self.lookup_keys: frozenset[str] = frozenset(keys)
        self.phenotypes: frozenset[str] = frozenset(
            {p for _, p, _, _ in self._by_pair.values()}
            | set(table.activity_score_phenotypes.values())
            | {entry.phenotype for entry in table.function_phenotypes.values()}
        )
        self._phenotype_of_key = {key: p for _, p, _, key in self._by_pair.values()}
        self._phenotype_of_key.update(table.activity_score_phenotypes)
        for entry in table.function_phenotypes.values():
            self._phenotype_of_key.setdefault(entry.key, entry.phenotype)

    def split(self, diplotype: str) -> tuple[str, ...] | None:
        """The diplotype's alleles, sorted; one allele for haploid genes (MT-RNR1, G6PD males).

        Allele names may themselves hold a slash (G6PD "Telti/Kobe"), so the split that leaves
        known alleles on both sides wins; unknown names fall back to the plain split.
        """
        try:
            return self._split_memo[diplotype]
        except KeyError:
            pass
        found = self._split(diplotype)
        _remember(self._split_memo, diplotype, found)
        return found

    def _split(self, diplotype: str) -> tuple[str, ...] | None:
        text = diplotype.strip()
        if text in self._alleles:
            return (text,)
        cuts = [m.start() for m in re.finditer("/", text)]
        for cut in cuts:
            left, right = text[:cut].strip(), text[cut + 1 :].strip()
            if left in self._alleles and right in self._alleles:
                return tuple(sorted((left, right), key=_natural))
        return normalize_diplotype(text)

    def phenotype_of(self, lookup_key: str) -> str | None:
        return self._phenotype_of_key.get(lookup_key)

    def call(self, diplotype: str) -> DiplotypeCall | None:
        """The diplotype's phenotype and lookup keys, or ``None`` when CPIC's data cannot say."""
        try:
            return self._call_memo[diplotype]
        except KeyError:
            pass
        found = self._call(diplotype)
        _remember(self._call_memo, diplotype, found)
        return found

    def _call(self, diplotype: str) -> DiplotypeCall | None:
        if self.table.lookup == "allele_status":
            return self._allele_status(diplotype)
        pair = self.split(diplotype)
        if pair is None:
            return None
        found = self._by_pair.get(pair)
        if found is not None:
            spelling, phenotype, score, key = found
            return DiplotypeCall(spelling, phenotype, frozenset({key}), score, "table")
        if self.table.lookup == "activity_score":
            return self._activity_score(pair)
        return self._by_functions(pair)

    def functions_key(self, pair: tuple[str, ...]) -> str | None:
        """``"No function + Normal function"``: the alleles' functions, sorted; ``None`` if unknown."""
        functions = []
        for allele in pair:
            known = self.table.alleles.get(allele)
            if known is None:
                return None
            functions.append(known.function)
        return " + ".join(sorted(functions))

    def _by_functions(self, pair: tuple[str, ...]) -> DiplotypeCall | None:
        key = self.functions_key(pair)
        entry = None if key is None else self.table.function_phenotypes.get(key)
        if entry is None:
            return None
        spelling = "/".join(pair)
        return DiplotypeCall(
            spelling, entry.phenotype, frozenset({entry.key}), None, "allele functions"
        )

    def _activity_score(self, pair: tuple[str, ...]) -> DiplotypeCall | None:
        if len(pair) != 2:
            return None
        values = [self.allele_activity(allele) for allele in pair]
        if any(v is None for v in values):
            return None
        first, second = values
        assert first is not None
        assert second is not None
        if first == "n/a" or second == "n/a":
            key = "n/a"
        else:
            assert isinstance(first, ActivityScore)
            assert isinstance(second, ActivityScore)
            key = str(first.plus(second))
        phenotype = self.table.activity_score_phenotypes.get(key)
        if phenotype is None:
            return None
        score = None if key == "n/a" else key
        return DiplotypeCall("/".join(pair), phenotype, frozenset({key}), score, "activity score")

    def allele_activity(self, allele: str) -> ActivityScore | str | None:
        """The allele's activity value; ``"n/a"`` when CPIC gives none; ``None`` if unknown."""
        known = self.table.alleles.get(allele)
        if known is not None:
            if known.activity_value is None:
                return "n/a"
            return ActivityScore.parse(known.activity_value) or "n/a"
        match = _COPIES.match(allele)
        if match is None:
            return None
        base, copies = match["allele"], match["copies"]
        # PharmCAT names 3+ copies "x≥3"; "*1x3" is read as that allele when the table has it.
        if copies.lstrip(_AT_LEAST).isdigit() and int(copies.lstrip(_AT_LEAST)) >= 3:
            named = self.table.alleles.get(f"{base}x{_AT_LEAST}3")
            if named is not None and named.activity_value is not None:
                return ActivityScore.parse(named.activity_value)
        single = self.table.alleles.get(base)
        if single is None or single.activity_value is None:
            return None
        value = ActivityScore.parse(single.activity_value)
        if value is None:
            return "n/a"
        count = int(copies.lstrip(_AT_LEAST))
        if count < 2:
            return None  # "*1x1", "*1x0" are not copy-number notations; never guess a score
        return ActivityScore(value.value * count, copies.startswith(_AT_LEAST) or count >= 3)

    def _allele_status(self, diplotype: str) -> DiplotypeCall | None:
        alleles = [_hla_allele(a) for a in _SEPARATOR.split(diplotype.strip()) if a.strip()]
        if not 1 <= len(alleles) <= 2 or any(a is None for a in alleles):
            return None
        keys = set()
        positives = []
        for wanted in self.table.alleles_of_interest:
            carried = any(a == wanted or (a or "").startswith(wanted + ":") for a in alleles)
            keys.add(f"{wanted} {'positive' if carried else 'negative'}")
            if carried:
                positives.append(wanted)
        # A two-field allele of interest cannot be ruled in or out from one-field typing ("*57").
        if any((a or "").count(":") == 0 for a in alleles):
            return None
        phenotype = (
            ", ".join(f"{a} positive" for a in positives)
            if positives
            else "negative for " + ", ".join(self.table.alleles_of_interest)
        )
        spelling = "/".join(a for a in alleles if a)
        return DiplotypeCall(spelling, phenotype, frozenset(keys), None, "allele status")


_HLA = re.compile(r"^(?:HLA-)?(?:[A-Z]+[0-9]*)?\*?(?P<fields>\d{2,3}(?::\d{2,3})*)[A-Z]?$")


def _hla_allele(text: str) -> str | None:
    """``"HLA-B*57:01:01"``, ``"B*57:01"`` and ``"*57:01"`` → ``"*57:01:01"`` etc."""
    match = _HLA.match(text.strip())
    return f"*{match['fields']}" if match else None
