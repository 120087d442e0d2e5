"""Read a patient's PGx results from FHIR, in every form labs and servers send them.

Genotypes (LOINC 84413-4; SNOMED 363779003 in FHIR R4 core's retired genetics profile), pairs of
haplotypes (84414-2), therapeutic implications / phenotypes that point at a genotype, and HLA
presence tests, found in Bundles, contained resources and Genomics Operations ``Parameters``.
Containers are in ``containers``, genes in ``genes``, allele text in ``alleles``, phenotype terms
in ``phenotypes`` and the choice among several results in ``judging``; this module joins them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fhir_adapters.alleles import (
    ParsedGenotype,
    carrier_status,
    hla_allele,
    name_alleles,
    parse_genotype_text,
    parse_gl_string,
)
from fhir_adapters.containers import Flattened, flatten
from fhir_adapters.genes import gene_in_text, gene_of, has_code
from fhir_adapters.judging import Conflict, Reading, choose
from fhir_adapters.phenotypes import PRESENT, cpic_phenotype, presence
from fhir_adapters.resources import Resource, codings, effective_time
from fhir_adapters.tumour import is_tumour_result
from knowledge import GeneResult, KnowledgeBase

__all__ = ["Conflict", "Discrepancy", "GenotypeReadout", "Unreadable", "read_genotypes"]

log = logging.getLogger(__name__)

GENOTYPE_CODES = ("84413-4", "363779003")
HAPLOTYPE_CODE = "84414-2"
# STU2/STU3 therapeutic-implication; STU1 medication-metabolism, -efficacy, -high-risk and the
# transporter profile eMERGE labs used; 79716-7 is R4 core's "metabolic activity interpretation".
IMPLICATION_CODES = (
    "therapeutic-implication",
    "53040-2",
    "51961-1",
    "83009-1",
    "effect-transporter-function",
    "79716-7",
)
_IMPLICATION_COMPONENTS = ("therapeutic-implication", "predicted-therapeutic-implication")
# LOINC presence tests for one allele, from the IG example's own coding display.
_PRESENCE_TESTS = {"57979-7": ("HLA-B", "*15:02")}
_IGNORED_STATUSES = frozenset({"entered-in-error", "cancelled", "registered"})
_GL_SYSTEM = "http://glstring.org"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A result we could not read, and why; it is reported, never guessed at."""

    source: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """The lab's reported phenotype differs from what the knowledge computes from the diplotype."""

    gene: str
    diplotype: str
    reported: str
    computed: str
    source: str | None


@dataclass(slots=True)
class GenotypeReadout:
    results: dict[str, GeneResult] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)


def read_genotypes(
    resources: Iterable[Any],
    genes_by_hgnc: Mapping[str, str],
    *,
    kb: KnowledgeBase | None = None,
) -> GenotypeReadout:
    """One result per gene (or variant rsID) from ``resources``; the rest listed, never guessed.

    With ``kb`` alleles are named as the gene tables name them (``*7.001`` → ``*7``, VKORC1
    ``C/T`` → its rs9923231 alleles, rs12777823 genotypes keyed by rsID), HLA carrier status is
    worked out for the alleles of interest, and reported phenotypes are checked against the
    knowledge's own call (``discrepancies``).
    """
    reader = _Reader(flatten(resources), genes_by_hgnc, kb)
    readout = reader.read()
    for item in readout.unreadable:
        log.info("unreadable genotype result %s: %s", item.source or "(no id)", _scrub(item.reason))
    for conflict in readout.conflicts:
        log.info("conflicting %s results: %s", conflict.gene, [r.source for r in conflict.results])
    for found in readout.discrepancies:
        # Gene only: diplotypes and phenotypes are PHI in logs (settings.log_phi).
        log.info("%s: the reported phenotype differs from the CPIC call", found.gene)
    return readout


# Allele-like words ("*1/*99", "C/T", "B*57:01"): a patient's genotype is PHI in logs.
_ALLELE_WORD = re.compile(r"\S*[*/|]\S*")


def _scrub(reason: str) -> str:
    """The reason with allele names masked, fit for a log line."""
    return _ALLELE_WORD.sub("<alleles>", reason)


class _Reader:
    def __init__(
        self, flat: Flattened, genes_by_hgnc: Mapping[str, str], kb: KnowledgeBase | None
    ) -> None:
        self.flat = flat
        self.genes_by_hgnc = genes_by_hgnc
        self.kb = kb
        self.known_genes = set(genes_by_hgnc.values()) | set(kb.genes if kb else ())
        self.variants = kb.variants if kb else frozenset()
        self.readout = GenotypeReadout()
        self.readings: dict[str, list[Reading]] = {}
        # Genotype resources read, by identity, so implications can attach to them.
        self.by_resource: dict[int, GeneResult] = {}

    def read(self) -> GenotypeReadout:
        # Each resource's codes are read once here, not once per kind of result looked for.
        # Somatic variants and molecular biomarkers are read_tumour_profile's, not germline results.
        current = [
            (n, r, _codes(r))
            for n, r in self.flat.resources
            if _status(r) not in _IGNORED_STATUSES and not is_tumour_result(r)
        ]
        observations = [c for c in current if c[1].get("resourceType") == "Observation"]
        haplotypes: dict[str, list[tuple[str | None, Resource, str]]] = {}
        for name, resource, codes in observations:
            if not codes.isdisjoint(GENOTYPE_CODES):
                self._genotype(name, resource, haplotypes)
            elif HAPLOTYPE_CODE in codes:
                self._collect_haplotype(name, resource, haplotypes)
        self._haplotypes(haplotypes)
        for name, resource, codes in observations:
            if not codes.isdisjoint(IMPLICATION_CODES):
                self._implication(name, resource)
        for name, resource, codes in current:
            if not codes.isdisjoint(_PRESENCE_TESTS):
                self._presence_test(name, resource)
        for item, present, name in self.flat.presence_answers:
            self._presence_answer(item, present, name)
        for gene, readings in self.readings.items():
            chosen, conflict = choose(readings)
            if conflict is not None:
                self.readout.conflicts.append(conflict)
            if chosen is not None:
                self.readout.results[gene] = chosen
                self._check_phenotype(chosen)
        return self.readout

    def _gene(self, resource: Resource, texts: list[str]) -> str | None:
        """From the coded gene (48018-6, legacy extension), else a gene named in the value."""
        return gene_of(resource, self.genes_by_hgnc) or next(
            (g for t in texts if (g := gene_in_text(t, self.known_genes))), None
        )

    # -- genotypes -------------------------------------------------------------------------

    def _genotype(
        self,
        name: str | None,
        resource: Resource,
        haplotypes: dict[str, list[tuple[str | None, Resource, str]]],
    ) -> None:
        texts = _value_texts(resource)
        gene = self._gene(resource, texts)
        if gene is None:
            self._unreadable(name, "no gene (component 48018-6) found")
            return
        if not texts:
            if isinstance(resource.get("dataAbsentReason"), Mapping):
                return  # the lab says there is no result (vcf2fhir's "not called"): nothing to read
            self._unreadable(name, f"{gene} genotype has no value")
            return
        parsed = self._known_names(texts, gene) or _parse(resource, texts, gene)
        one_allele = parsed is not None and len(parsed.unambiguous or ()) == 1
        # R4 core's retired profile used one code (SNOMED 363779003) for diplotypes and haplotypes.
        if one_allele and not self._is_hla(gene) and has_code(resource, "363779003"):
            haplotypes.setdefault(gene, []).append((name, resource, texts[0]))
            return
        result = self._result(gene, parsed, name, resource, "genotype")
        if isinstance(result, str):
            self._unreadable(name, result)
            return
        self._add(result, resource, name)

    def _known_names(self, texts: list[str], gene: str) -> ParsedGenotype | None:
        """Allele names the gene table has, read whole: G6PD ``B (reference)``, UGT1A1
        ``*80+*28``, DPYD ``c.1905+1G>A (*2A)`` hold spaces, ``+`` or ``/`` of their own."""
        index = self.kb.diplotype_index.get(gene) if self.kb is not None else None
        if index is None or index.table.lookup == "allele_status":
            return None
        for text in texts:
            bare = re.sub(rf"(?i)^{re.escape(gene)}(?:\s+|_)?", "", text.strip()).strip()
            alleles = index.split(bare)
            if alleles and all(allele in index.table.alleles for allele in alleles):
                return ParsedGenotype((alleles,))
        return None

    def _result(
        self,
        gene: str,
        parsed: ParsedGenotype | None,
        name: str | None,
        resource: Resource,
        kind: str,
    ) -> GeneResult | str:
        """The gene result a parsed value gives, or why there is none."""
        not_diplotype = f"{gene} genotype value is not a diplotype"
        if parsed is None:
            return not_diplotype
        base = _gene_result(gene, resource, name, kind)
        table = self.kb.genes.get(gene) if self.kb else None
        if parsed.rsid is not None and parsed.rsid in self.variants:
            alleles = parsed.unambiguous
            if alleles is None:
                return not_diplotype
            return replace(base, gene=parsed.rsid, diplotype="/".join(alleles))
        if self._is_hla(gene):
            return self._hla_result(base, parsed, table)
        alleles = parsed.unambiguous
        if alleles is None or len(alleles) != 2:
            return not_diplotype
        if table is not None:
            named, reason = name_alleles(alleles, table, parsed.rsid)
            if named is None:
                return f"{gene} genotype {'/'.join(alleles)}: {reason}"
            alleles = named
        elif parsed.rsid is not None or all(a.isalpha() and len(a) == 1 for a in alleles):
            return f"{gene} SNP genotype cannot be named without the knowledge base"
        return replace(base, diplotype="/".join(alleles))

    def _hla_result(self, base: GeneResult, parsed: ParsedGenotype, table: Any) -> GeneResult | str:
        gene = base.gene
        alleles = parsed.unambiguous
        if alleles is not None and len(alleles) == 2:
            named = [hla_allele(a) for a in alleles]
            if all(named):
                return replace(base, diplotype="/".join(a for a in named if a))
        if table is None or not table.alleles_of_interest:
            return f"{gene} genotype is not a two-allele HLA genotype"
        status = carrier_status(parsed.candidates, table.alleles_of_interest)
        if status is None or not (status[0] or status[1]):
            return f"{gene} genotype does not establish any allele of interest"
        return replace(base, carriers=status[0], non_carriers=status[1])

    def _is_hla(self, gene: str) -> bool:
        table = self.kb.genes.get(gene) if self.kb else None
        if table is not None:
            return table.lookup == "allele_status"
        return gene.startswith("HLA-")

    # -- haplotypes ------------------------------------------------------------------------

    def _collect_haplotype(
        self,
        name: str | None,
        resource: Resource,
        haplotypes: dict[str, list[tuple[str | None, Resource, str]]],
    ) -> None:
        texts = _value_texts(resource)
        gene = self._gene(resource, texts)
        if gene is None or not texts:
            self._unreadable(name, "haplotype without gene or value")
            return
        haplotypes.setdefault(gene, []).append((name, resource, texts[0]))

    def _haplotypes(self, haplotypes: dict[str, list[tuple[str | None, Resource, str]]]) -> None:
        """Two haplotypes make a diplotype, for genes no genotype was read for."""
        for gene, found in haplotypes.items():
            if gene in self.readings:
                continue
            names = [n for n, _, _ in found]
            source = names[0] if len(found) == 1 else " + ".join(str(n) for n in names)
            alleles: list[str] = []
            for _, _, text in found:
                parsed = parse_genotype_text(text, gene)
                if parsed is None or parsed.unambiguous is None or len(parsed.unambiguous) != 1:
                    self._unreadable(source, f"{gene} haplotype value is not one allele")
                    alleles = []
                    break
                alleles.append(parsed.unambiguous[0])
            if not alleles:
                continue
            if len(alleles) != 2 and not self._is_hla(gene):
                self._unreadable(
                    source, f"{len(alleles)} {gene} haplotype(s): a diplotype needs two"
                )
                continue
            resource = found[-1][1]
            result = self._result(
                gene, ParsedGenotype((tuple(alleles),)), source, resource, "haplotypes"
            )
            if isinstance(result, str):
                self._unreadable(source, result)
                continue
            self._add(result, resource, source)

    # -- implications, phenotypes, presence --------------------------------------------------

    def _implication(self, name: str | None, resource: Resource) -> None:
        targets = [self.flat.resolve(ref, resource) for ref in _list(resource.get("derivedFrom"))]
        if targets and all(t is not None and is_tumour_result(t) for t in targets):
            return  # about the tumour (EGFR L858R → gefitinib): read_tumour_profile reads it
        genotypes = [t for t in targets if t is not None and id(t) in self.by_resource]
        genes = {self.by_resource[id(t)].gene for t in genotypes}
        if not genes:
            # Derived from a genotype that could not be read (SLCO1B1 "T/C"): the lab's
            # phenotype still stands for that gene; or the implication names its gene itself.
            named = [gene_of(t, self.genes_by_hgnc) for t in targets if t is not None]
            genes = {g for g in named if g} or {
                g for g in [gene_of(resource, self.genes_by_hgnc)] if g
            }
        if len(genes) != 1:
            reason = (
                f"implication derived from {len(genes)} genes ({', '.join(sorted(genes))})"
                if genes
                else "implication: the genotype it is derived from is not among the results"
            )
            self._unreadable(name, reason)
            return
        gene = genes.pop()
        phenotype = cpic_phenotype(_implication_value(resource), gene)
        if phenotype is None:
            self._unreadable(name, f"{gene} implication has no phenotype")
            return
        for target in genotypes:
            result = self.by_resource[id(target)]
            if result.reported_phenotype and result.reported_phenotype != phenotype:
                self._unreadable(name, f"{gene} implications disagree on the phenotype")
                continue
            self._replace(result, replace(result, reported_phenotype=phenotype))
        if not genotypes:
            result = replace(
                _gene_result(gene, resource, name, "implication"), reported_phenotype=phenotype
            )
            self._add(result, resource, name)

    def _presence_test(self, name: str | None, resource: Resource) -> None:
        code = next(c for c in _PRESENCE_TESTS if has_code(resource, c))
        gene, allele = _PRESENCE_TESTS[code]
        answer = presence(resource.get("valueCodeableConcept")) or next(
            (p for c in _list(resource.get("conclusionCode")) if (p := presence(c))), None
        )
        if answer is None:
            self._unreadable(name, f"{gene}{allele} presence test without a Present/Absent answer")
            return
        carried = answer == PRESENT
        result = replace(
            _gene_result(gene, resource, name, "presence"),
            carriers=frozenset({allele}) if carried else frozenset(),
            non_carriers=frozenset() if carried else frozenset({allele}),
        )
        self._add(result, resource, name)

    def _presence_answer(self, item: str, present: bool, name: str | None) -> None:
        gene = gene_in_text(item, self.known_genes)
        table = self.kb.genes.get(gene) if self.kb and gene else None
        allele = hla_allele(item.removeprefix(gene or "")) if gene else None
        if gene is None or table is None or allele is None or not table.alleles_of_interest:
            return  # a gene or allele the knowledge has no use for ("CYP2C19", "DRB1*13:02")
        wanted = table.alleles_of_interest
        if present:
            found = {w for w in wanted if allele == w or allele.startswith(w + ":")}
        else:
            found = {w for w in wanted if w == allele or w.startswith(allele + ":")}
        if not found:
            self._unreadable(
                name, f"presence of {gene}{allele} says nothing about its alleles of interest"
            )
            return
        result = GeneResult(
            gene,
            source=name,
            source_kind="presence",
            carriers=frozenset(found) if present else frozenset(),
            non_carriers=frozenset() if present else frozenset(found),
        )
        self._add(result, {}, name)

    # -- bookkeeping -------------------------------------------------------------------------

    def _add(self, result: GeneResult, resource: Resource, name: str | None) -> None:
        identities = {f"ref:{name}"} if name else set()
        for identifier in _list(resource.get("identifier")):
            if isinstance(identifier, Mapping) and identifier.get("value"):
                identities.add(f"id:{identifier.get('system')}|{identifier['value']}")
        self.readings.setdefault(result.gene, []).append(Reading(result, frozenset(identities)))
        if resource:
            self.by_resource[id(resource)] = result

    def _replace(self, old: GeneResult, new: GeneResult) -> None:
        for reading in self.readings.get(old.gene, []):
            if reading.result is old:
                reading.result = new
        for key, value in self.by_resource.items():
            if value is old:
                self.by_resource[key] = new

    def _unreadable(self, source: str | None, reason: str) -> None:
        self.readout.unreadable.append(Unreadable(source, reason))

    def _check_phenotype(self, result: GeneResult) -> None:
        if self.kb is None or not result.diplotype or not result.reported_phenotype:
            return
        index = self.kb.diplotype_index.get(result.gene)
        call = index.call(result.diplotype) if index else None
        if call is not None and call.phenotype.lower() != result.reported_phenotype.lower():
            self.readout.discrepancies.append(
                Discrepancy(
                    result.gene,
                    result.diplotype,
                    result.reported_phenotype,
                    call.phenotype,
                    result.source,
                )
            )


def _gene_result(gene: str, resource: Resource, name: str | None, kind: str) -> GeneResult:
    """A result for ``gene`` with the provenance every reading records: source, date, status."""
    return GeneResult(
        gene,
        source=name,
        effective=effective_time(resource),
        status=_status(resource),
        source_kind=kind,
    )


def _parse(resource: Resource, texts: list[str], gene: str) -> ParsedGenotype | None:
    concept = resource.get("valueCodeableConcept")
    is_gl = any(c.get("system") == _GL_SYSTEM for c in codings(concept))
    first: ParsedGenotype | None = None
    for text in texts:
        if is_gl or "+" in text or "#" in text:
            parsed = parse_gl_string(text, gene)
            if parsed is not None:
                # "HLA-B*15:02" in a GL String: the gene is already known.
                return ParsedGenotype(
                    tuple(
                        tuple(a[len(gene) :] if a.upper().startswith(gene) else a for a in c)
                        for c in parsed.candidates
                    )
                )
            continue
        parsed = parse_genotype_text(text, gene)
        if parsed is not None and parsed.unambiguous is not None and len(parsed.unambiguous) == 2:
            return parsed
        first = first or parsed
    return first


def _value_texts(resource: Resource) -> list[str]:
    """The value as text, in order of trust: text, coding displays, coding codes, valueString."""
    texts: list[str] = []
    concept = resource.get("valueCodeableConcept")
    if isinstance(concept, Mapping) and isinstance(concept.get("text"), str):
        texts.append(concept["text"])
    texts += [str(c["display"]) for c in codings(concept) if isinstance(c.get("display"), str)]
    # PharmVar and GL String codes carry the genotype itself ("CYP2D6_*1/*1").
    texts += [str(c["code"]) for c in codings(concept) if isinstance(c.get("code"), str)]
    if isinstance(resource.get("valueString"), str):
        texts.append(resource["valueString"])
    return [t for t in texts if t.strip()]


def _implication_value(resource: Resource) -> Any:
    components = resource.get("component")
    for component in components if isinstance(components, list) else ():
        if has_code(component, *_IMPLICATION_COMPONENTS):
            return component.get("valueCodeableConcept") or component.get("valueString")
    return resource.get("valueCodeableConcept") or resource.get("valueString")


def _codes(resource: Resource) -> frozenset[str]:
    """The codes of ``resource["code"]``, whatever their system (as ``has_code`` matches them).

    Only text: a code sent as a list or an object (bad data) matches nothing and must not fail.
    """
    return frozenset(
        code for c in codings(resource.get("code")) if isinstance(code := c.get("code"), str)
    )


def _status(resource: Resource) -> str | None:
    """The resource's status code; a malformed one (not a string) counts as none."""
    status = resource.get("status")
    return status if isinstance(status, str) and status else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
