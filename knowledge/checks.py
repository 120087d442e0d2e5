"""Checks across knowledge files: each a small named function that returns the errors it finds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from knowledge.errors import KnowledgeError
from knowledge.phenotype import DiplotypeIndex
from knowledge.schema import Drug, Guideline, Recommendation
from knowledge.yaml_source import YamlDocument

__all__ = ["GUIDELINE_CHECKS", "GuidelineContext"]


class GuidelineContext:
    """What a guideline check may look at besides the guideline itself."""

    def __init__(
        self,
        document: YamlDocument,
        stem: str,
        genes: Mapping[str, DiplotypeIndex],
        drugs: Mapping[str, Drug] | None,
        unreadable_genes: frozenset[str] = frozenset(),
    ) -> None:
        self.document = document
        self.stem = stem
        self.genes = genes
        # None: drugs.yaml is missing or broken, already reported; drug names are not checked.
        self.drugs = drugs
        # Gene files that exist but failed their own checks, already reported.
        self.unreadable_genes = unreadable_genes

    def error(
        self, at: tuple[str | int, ...], field: str, message: str, fix: str, *, key: bool = False
    ) -> KnowledgeError:
        """An error at ``at``: the value there, or with ``key`` the mapping key that names it."""
        return KnowledgeError(self.document.location(at, key=key), field, message, fix)


Check = Callable[[Guideline, GuidelineContext], Iterator[KnowledgeError]]


def id_matches_file_name(guideline: Guideline, ctx: GuidelineContext) -> Iterator[KnowledgeError]:
    if guideline.id != ctx.stem:
        yield ctx.error(
            ("id",),
            "id",
            f"{guideline.id!r} differs from the file name {ctx.stem!r}",
            f"Rename the file to {guideline.id}.yaml or set id: {ctx.stem}.",
        )


def genes_are_known(guideline: Guideline, ctx: GuidelineContext) -> Iterator[KnowledgeError]:
    for i, gene in enumerate(guideline.genes):
        if gene not in ctx.genes and gene not in ctx.unreadable_genes:
            yield ctx.error(
                ("genes", i),
                f"genes[{i}]",
                f"no gene table for {gene!r}",
                f"Add knowledge/genes/{gene}.yaml (run the generator) or fix the name.",
            )


def drugs_are_known(guideline: Guideline, ctx: GuidelineContext) -> Iterator[KnowledgeError]:
    if ctx.drugs is None:
        return
    for i, drug in enumerate(guideline.drugs):
        if drug not in ctx.drugs:
            yield ctx.error(
                ("drugs", i),
                f"drugs[{i}]",
                f"{drug!r} is not in knowledge/drugs.yaml",
                "Add the drug with its RxNorm code to drugs.yaml or fix the name.",
            )


def recommendations_are_consistent(
    guideline: Guideline, ctx: GuidelineContext
) -> Iterator[KnowledgeError]:
    for i, rec in enumerate(guideline.recommendations):
        at: tuple[str | int, ...] = ("recommendations", i)
        where = f"recommendations[{i}]"
        if rec.drug not in guideline.drugs:
            yield ctx.error(
                (*at, "drug"),
                f"{where}.drug",
                f"{rec.drug!r} is not in drugs",
                "Add it to the guideline's drugs list or fix the name.",
            )
        if rec.population is not None and rec.population not in guideline.populations:
            yield ctx.error(
                (*at, "population"),
                f"{where}.population",
                f"{rec.population!r} is not a declared population",
                "Declare it under populations or fix the name.",
            )
        for gene, key in rec.lookup_key.items():
            index = ctx.genes.get(gene)
            if gene not in guideline.genes:
                yield ctx.error(
                    (*at, "lookup_key", gene),
                    f"{where}.lookup_key.{gene}",
                    f"{gene!r} is not among the guideline's genes",
                    "Add it to genes or fix the gene symbol.",
                )
            elif index is not None and not _is_known_key(index, key):
                known = ", ".join(sorted(index.lookup_keys))
                yield ctx.error(
                    (*at, "lookup_key", gene),
                    f"{where}.lookup_key.{gene}",
                    f"{key!r} is not a {gene} lookup key",
                    f"Use one of: {known}.",
                )
        for about in rec.implications:
            if any(gene not in guideline.genes for gene in about.split(", ")):
                shown = about if len(about) <= 40 else f"{about[:37]}..."
                yield ctx.error(
                    (*at, "implications", about),
                    f"{where}.implications",
                    f"an implication is keyed {shown!r}, which is not a gene of the guideline",
                    "Key each implication by the gene it is about; several: 'CACNA1S, RYR1'.",
                    key=True,
                )
        yield from _conditions_are_known(guideline, ctx, rec, at, where)
        for j, alternative in enumerate(rec.alternatives):
            if ctx.drugs is not None and alternative.drug not in ctx.drugs:
                yield ctx.error(
                    (*at, "alternatives", j, "drug"),
                    f"{where}.alternatives[{j}].drug",
                    f"{alternative.drug!r} is not in knowledge/drugs.yaml",
                    "Add it with its RxNorm ingredient code, or fix the name.",
                )


def _conditions_are_known(
    guideline: Guideline,
    ctx: GuidelineContext,
    rec: Recommendation,
    at: tuple[str | int, ...],
    where: str,
) -> Iterator[KnowledgeError]:
    """A flowchart rule names the guideline's genes or variants, and alleles they can carry."""
    for locus, condition in rec.when.items():
        here = (*at, "when", locus)
        field = f"{where}.when.{locus}"
        variant = guideline.variants.get(locus)
        if locus not in guideline.genes and variant is None:
            yield ctx.error(
                here,
                field,
                f"{locus!r} is neither one of the guideline's genes nor one of its variants",
                "Add it to genes (or variants, for an rsID) or fix the name.",
            )
            continue
        index = ctx.genes.get(locus)
        if variant is not None:
            known_alleles = {variant.ref, *variant.alt}
        elif index is not None:
            known_alleles = set(index.table.alleles)
        else:
            continue  # the gene table is missing or broken, already reported
        unknown = [
            a for a in (*condition.carries, *condition.carries_none_of) if a not in known_alleles
        ]
        if unknown:
            yield ctx.error(
                here,
                field,
                f"{', '.join(unknown)} is not a {locus} allele",
                "Use allele names from the gene file (or the variant's ref/alt).",
            )
        if condition.phenotype and (index is None or variant is not None):
            yield ctx.error(
                here,
                field,
                f"{locus} has no phenotypes to match",
                "Use carries or tested for a variant.",
            )
        elif index is not None:
            for value in condition.phenotype:
                if not _is_known_key(index, value):
                    yield ctx.error(
                        here,
                        field,
                        f"{value!r} is not a {locus} phenotype or lookup key",
                        f"Use one of: {', '.join(sorted(index.phenotypes))}.",
                    )


def _is_known_key(index: DiplotypeIndex, key: str) -> bool:
    """A lookup key, a phenotype name (DPWG) or a diplotype the gene table can read (DPWG)."""
    if key == "No Result" or key in index.lookup_keys or key in index.phenotypes:
        return True
    return "/" in key and index.call(key) is not None


def active_covers_every_phenotype(
    guideline: Guideline, ctx: GuidelineContext
) -> Iterator[KnowledgeError]:
    """An active single-gene CPIC guideline must say something for every key the gene table gives.

    DPWG exports list only the phenotypes DPWG addresses; the others raise no card, by design.
    """
    if guideline.status != "active" or len(guideline.genes) != 1 or guideline.source != "CPIC":
        return
    gene = guideline.genes[0]
    index = ctx.genes.get(gene)
    if index is None or index.table.lookup == "allele_status":
        return
    covered: dict[tuple[str, str | None], set[str]] = {}
    for rec in guideline.recommendations:
        if rec.drug not in guideline.drugs or (
            rec.population is not None and rec.population not in guideline.populations
        ):
            continue  # reported by recommendations_are_consistent; no second, misleading error
        covered.setdefault((rec.drug, rec.population), set()).add(rec.lookup_key.get(gene, ""))
    for (drug, population), keys in sorted(covered.items(), key=str):
        missing = sorted(index.lookup_keys - keys)
        if missing:
            scope = f"{drug}" + (f" ({population})" if population else "")
            yield ctx.error(
                ("recommendations",),
                "recommendations",
                f"{scope} has no recommendation for {gene} {', '.join(missing)}",
                "Add a recommendation for each (action: no-recommendation if CPIC "
                "gives none), or set status: draft.",
            )


def tests_name_known_things(
    guideline: Guideline, ctx: GuidelineContext
) -> Iterator[KnowledgeError]:
    for i, case in enumerate(guideline.tests):
        if case.drug not in guideline.drugs:
            yield ctx.error(
                ("tests", i, "drug"),
                f"tests[{i}].drug",
                f"{case.drug!r} is not one of this guideline's drugs",
                f"Use one of: {', '.join(guideline.drugs)}.",
            )
        for gene in case.given:
            if gene in guideline.variants:
                continue
            if gene not in ctx.genes and gene not in ctx.unreadable_genes:
                yield ctx.error(
                    ("tests", i, "given", gene),
                    f"tests[{i}].given.{gene}",
                    f"no gene table for {gene!r}",
                    "Fix the gene symbol (or name an rsID the guideline lists under variants).",
                )


GUIDELINE_CHECKS: tuple[Check, ...] = (
    id_matches_file_name,
    genes_are_known,
    drugs_are_known,
    recommendations_are_consistent,
    active_covers_every_phenotype,
    tests_name_known_things,
)
