"""A VCF (and optional outside calls) → each sample's diplotypes and CPIC phenotypes.

Genes are those the allele definitions can call from a VCF; CYP2D6 (copy number and hybrids a VCF
cannot show), HLA-A, HLA-B and MT-RNR1 come only from outside calls, as in PharmCAT. An outside
call replaces the VCF's call for its gene.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from fhir_adapters.alleles import name_alleles
from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall, VariantGenotype
from fhir_adapters.vcf.errors import VcfInputError
from fhir_adapters.vcf.outside_calls import OutsideCall, read_outside_calls
from fhir_adapters.vcf.reader import SampleGenotypes, read_vcf
from knowledge import KnowledgeBase, load_knowledge_base
from knowledge.allele_definitions import (
    VARIANT_LISTING_GENES,
    GeneDefinition,
    load_allele_definitions,
)
from knowledge.allele_matching import GeneMatch, match_gene
from knowledge.lowest_function import lowest_function_pair
from knowledge.phenotype import DiplotypeIndex
from knowledge.variant_listing import list_variants

__all__ = ["OUTSIDE_CALL_GENES", "call_vcf", "vcf_genes"]

# Genes PharmCAT takes only from outside calls.
OUTSIDE_CALL_GENES = ("CYP2D6", "HLA-A", "HLA-B", "MT-RNR1")


def vcf_genes(definitions: Mapping[str, GeneDefinition]) -> dict[str, GeneDefinition]:
    """The genes called from the VCF itself."""
    return {g: d for g, d in definitions.items() if g not in OUTSIDE_CALL_GENES}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _readings(diplotype: str) -> list[list[str]]:
    """``"Reference/[a + b]"`` → ``[["Reference"], ["a", "b"]]`` (DPYD, RYR1 phased readings)."""
    return [
        [name.strip() for name in part.strip("[]").split(" + ")] for part in diplotype.split("/")
    ]


def _lookups(match: GeneMatch, index: DiplotypeIndex, notes: list[str]) -> list[str | None]:
    """What to look each reading up by: the diplotype, or for DPYD/RYR1 its lowest-function pair."""
    if match.gene not in VARIANT_LISTING_GENES:
        return list(match.diplotypes)
    readings: list[tuple[str, list[str] | None]] = [
        (diplotype, None) for diplotype in match.diplotypes
    ]
    if match.variants:
        readings = [(", ".join(match.variants), list(match.variants))]
    lookups: list[str | None] = []
    for shown, variants in readings:
        pair = (
            lowest_function_pair(index, variants=variants)
            if variants is not None
            else lowest_function_pair(index, strands=_readings(shown))
        )
        if pair is None:
            notes.append(f"{shown}: a variant has no CPIC function; phenotype not assigned")
        lookups.append("/".join(pair) if pair else None)
    return lookups


def _phenotypes(
    match: GeneMatch, index: DiplotypeIndex | None
) -> tuple[tuple[str | None, ...], tuple[str | None, ...], str | None, list[str]]:
    """Per reading: phenotype and activity score; the pair used for DPYD/RYR1; notes."""
    if index is None:
        unknown = (None,) * len(match.diplotypes)
        return (
            unknown,
            unknown,
            None,
            [f"no CPIC gene table for {match.gene}: phenotype not assigned"],
        )
    notes: list[str] = []
    lookups = _lookups(match, index, notes)
    calls = [index.call(lookup) if lookup else None for lookup in lookups]
    for lookup, call in zip(lookups, calls, strict=True):
        if lookup and call is None:
            notes.append(f"{lookup}: CPIC's tables give no phenotype for this diplotype")
    basis = None
    if match.gene in VARIANT_LISTING_GENES and len(lookups) == 1:
        basis = lookups[0]
    return (
        tuple(c.phenotype if c else None for c in calls),
        tuple(c.activity_score if c else None for c in calls),
        basis,
        notes,
    )


def _from_match(match: GeneMatch, kb: KnowledgeBase, notes: Sequence[str]) -> SampleGeneCall:
    table = kb.genes.get(match.gene)
    phenotypes, scores, basis, more = _phenotypes(match, kb.diplotype_index.get(match.gene))
    return SampleGeneCall(
        gene=match.gene,
        hgnc_id=table.hgnc_id if table else None,
        source="vcf",
        diplotypes=match.diplotypes,
        phenotypes=phenotypes,
        activity_scores=scores,
        phased=match.phased,
        missing_positions=tuple(p.label for p in match.missing),
        uncallable_alleles=match.uncallable,
        positions_read=match.positions_read,
        variants=match.variants,
        phenotype_basis=basis,
        notes=(*notes, *match.notes, *more),
        definition_version=match.definition_version,
    )


def _from_outside(call: OutsideCall, kb: KnowledgeBase, source: str) -> SampleGeneCall:
    table = kb.genes.get(call.gene)
    index = kb.diplotype_index.get(call.gene)
    notes = [f"outside call from {source} line {call.line}"]
    phenotype, score, diplotype = call.phenotype, call.activity_score, call.diplotype
    if diplotype and index is not None and index.table.lookup != "allele_status":
        # Named as the FHIR reader names a lab's alleles ("1555A>G" → "m.1555A>G", "*2A" →
        # DPYD's "c.1905+1G>A (*2A)"), so recommendations are found by the table's own names.
        alleles = index.split(diplotype) or (diplotype,)
        named, _ = name_alleles(alleles, index.table, None)
        diplotype = "/".join(named) if named else diplotype
    if diplotype and index is not None:
        derived = index.call(diplotype)
        if derived is None:
            notes.append(f"{diplotype}: CPIC's tables give no phenotype for this diplotype")
        else:
            if phenotype and phenotype != derived.phenotype:
                notes.append(
                    f"the given phenotype {phenotype!r} differs from CPIC's "
                    f"{derived.phenotype!r} for {call.diplotype}; the given one is kept"
                )
            phenotype = phenotype or derived.phenotype
            score = score or derived.activity_score
    if score and index is not None and table is not None and table.lookup == "activity_score":
        # For activity-score genes the score decides (Outside-Call-Format.md).
        scored = table.activity_score_phenotypes.get(score)
        if scored and phenotype and scored != phenotype:
            notes.append(f"activity score {score} means {scored!r}; that phenotype is used")
        phenotype = scored or phenotype
    return SampleGeneCall(
        gene=call.gene,
        hgnc_id=table.hgnc_id if table else None,
        source="outside call",
        diplotypes=(diplotype,) if diplotype else (),
        phenotypes=(phenotype,),
        activity_scores=(score,),
        phased=False,
        notes=tuple(notes),
    )


def _sample_calls(
    sample: SampleGenotypes,
    genes: Mapping[str, GeneDefinition],
    outside: Sequence[OutsideCall],
    kb: KnowledgeBase,
    *,
    input_name: str,
    input_sha256: str,
    outside_name: str,
    version: str,
) -> SampleCalls:
    replaced = {call.gene for call in outside}
    results = []
    unusable = []
    for gene, definition in sorted(genes.items()):
        if gene in replaced:
            continue
        genotypes = sample.genes.get(gene, {})
        if not genotypes:
            # A panel VCF holds some genes only: the others were not tested, not "not called".
            unusable.append(gene)
            continue
        match = (list_variants if gene in VARIANT_LISTING_GENES else match_gene)(
            definition, genotypes
        )
        results.append(_from_match(match, kb, sample.notes.get(gene, [])))
    if not results and not outside:
        raise VcfInputError(
            input_name,
            f"sample {sample.sample!r} has no usable genotype at any allele-defining position",
            "Check that the VCF holds the PharmCAT positions (shared/pgx-data/pharmcat/positions/"
            "pharmcat_positions.vcf) with GRCh38 REF alleles and a GT for this sample",
        )
    results += [_from_outside(call, kb, outside_name) for call in outside]
    results.sort(key=lambda call: call.gene)
    variants = []
    for (gene, at), genotype in sorted(sample.extras.items()):
        position = next(p for p in genes[gene].extra_positions if p.position == at)
        if position.rsid and None not in genotype.alleles:
            variants.append(
                VariantGenotype(
                    rsid=position.rsid,
                    gene=gene,
                    chromosome=position.chromosome,
                    position=position.position,
                    ref=position.ref,
                    alleles=tuple(a for a in genotype.alleles if a is not None),
                )
            )
    warnings = []
    if unusable:
        warnings.append(f"not assessed, no usable position in the VCF: {', '.join(unusable)}")
    absent = [g for g in OUTSIDE_CALL_GENES if g not in replaced]
    if absent:
        warnings.append(
            f"{', '.join(absent)} not assessed: a VCF cannot call them reliably; give the calls "
            "of a dedicated tool with --outside-calls"
        )
    return SampleCalls(
        sample=sample.sample,
        input_name=input_name,
        input_sha256=input_sha256,
        genes=tuple(results),
        variants=tuple(variants),
        definitions_version=version,
        warnings=tuple(warnings),
    )


def call_vcf(
    path: Path,
    *,
    sample: str | None = None,
    outside_calls: Path | None = None,
    kb: KnowledgeBase | None = None,
) -> list[SampleCalls]:
    """Every sample's calls (only ``sample``'s when given); raises ``VcfInputError`` when unfit."""
    kb = kb or load_knowledge_base()
    definitions = load_allele_definitions()
    genes = vcf_genes(definitions)
    outside = read_outside_calls(outside_calls, set(kb.genes)) if outside_calls is not None else []
    reading = read_vcf(path, genes, samples=[sample] if sample else None)
    digest = _sha256(path)
    version = next(iter(genes.values())).version if genes else ""
    return [
        _sample_calls(
            found,
            genes,
            outside,
            kb,
            input_name=path.name,
            input_sha256=digest,
            outside_name=outside_calls.name if outside_calls else "",
            version=version,
        )
        for found in reading.samples
    ]
