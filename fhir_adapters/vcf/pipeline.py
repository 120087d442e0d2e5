"""A VCF (and optional outside calls) → each sample's diplotypes and CPIC phenotypes.

Genes are those the allele definitions can call from a VCF; CYP2D6 (copy number and hybrids a VCF
cannot show), HLA-A, HLA-B and MT-RNR1 come only from outside calls, as in PharmCAT. An outside
call replaces the VCF's call for its gene.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

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


def _phenotypes(
    match: GeneMatch, index: DiplotypeIndex | None
) -> tuple[tuple[str | None, ...], tuple[str | None, ...], str | None, list[str]]:
    """Per diplotype: phenotype and activity score; the pair used for DPYD/RYR1; notes."""
    notes: list[str] = []
    if index is None:
        return (
            (None,) * len(match.diplotypes),
            (None,) * len(match.diplotypes),
            None,
            [f"no CPIC gene table for {match.gene}: phenotype not assigned"],
        )
    phenotypes: list[str | None] = []
    scores: list[str | None] = []
    basis = None
    if match.gene in VARIANT_LISTING_GENES:
        wanted: list[tuple[str, ...]] = []
        if match.variants:
            pair = lowest_function_pair(index, variants=match.variants)
            wanted = [pair] if pair else []
            if pair is None:
                notes.append("a listed variant has no CPIC function: phenotype not assigned")
        for diplotype in match.diplotypes:
            found = lowest_function_pair(index, strands=_readings(diplotype))
            if found is None:
                notes.append(f"{diplotype}: a variant has no CPIC function; phenotype not assigned")
            wanted.append(found or ("?", "?"))
        for chosen in wanted:
            call = index.call("/".join(chosen)) if "?" not in chosen else None
            phenotypes.append(call.phenotype if call else None)
            scores.append(call.activity_score if call else None)
        if len(wanted) == 1 and wanted[0] != ("?", "?"):
            basis = "/".join(wanted[0])
        return tuple(phenotypes), tuple(scores), basis, notes
    for diplotype in match.diplotypes:
        call = index.call(diplotype)
        if call is None:
            notes.append(f"{diplotype}: CPIC's tables give no phenotype for this diplotype")
        phenotypes.append(call.phenotype if call else None)
        scores.append(call.activity_score if call else None)
    return tuple(phenotypes), tuple(scores), basis, notes


def _from_match(match: GeneMatch, kb: KnowledgeBase, notes: Sequence[str]) -> SampleGeneCall:
    table = kb.genes.get(match.gene)
    phenotypes, scores, basis, more = _phenotypes(match, kb.diplotype_index.get(match.gene))
    if match.variants:
        # Unphased DPYD/RYR1: one phenotype, from the two lowest-function variants.
        phenotypes, scores = phenotypes[:1], scores[:1]
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
    if call.diplotype and index is not None:
        derived = index.call(call.diplotype)
        if derived is None and call.gene == "MT-RNR1":
            # PharmCAT's outside-call example writes "1555A>G"; CPIC's table names "m.1555A>G",
            # and recommendations are looked up by that name.
            derived = index.call("m." + call.diplotype.removeprefix("m."))
            diplotype = derived.diplotype if derived else diplotype
        if derived is None:
            notes.append(f"{call.diplotype}: CPIC's tables give no phenotype for this diplotype")
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
    for (gene, _), genotype in sorted(sample.extras.items()):
        position = next(p for p in genes[gene].extra_positions if p.position == _)
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
