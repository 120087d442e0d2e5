"""One sample's calls as a Genomics Reporting IG (STU3, FHIR R4) transaction Bundle, safe to post twice.

Per gene: a genotype Observation (LOINC 84413-4) and, where CPIC gives one, a therapeutic-implication
Observation carrying the phenotype and derived from it; per single variant (rs12777823): a variant
Observation and a genotype Observation derived from it; one genomic-report DiagnosticReport over all.
Every entry is a conditional create on a business identifier computed from what it says and where
it comes from, with a ``urn:uuid`` made from that identifier: the same calls give the same Bundle,
and posting it again creates nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fhir_adapters.phenotypes import LOINC_PHENOTYPE_ANSWERS
from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall, VariantGenotype

__all__ = ["IDENTIFIER_SYSTEM", "REPORT_TITLE", "build_bundle"]

IDENTIFIER_SYSTEM = "urn:pgx-cds-hooks:vcf2fhir"
# The title of the report's presentedForm; the patient-view card links it by this name.
REPORT_TITLE = "Pharmacogenomic report"

_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
_LOINC = "http://loinc.org"
_TBD_CODES = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
_V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# The IG's hgnc-vs (extensible binding of gene-studied) and its examples use this system.
_HGNC = "http://www.genenames.org"
# The IG's own $find-subject-haplotypes example codes diplotypes so: "CYP2D6_*1/*1".
_PHARMVAR = "http://www.pharmvar.org"
_DBSNP = "http://www.ncbi.nlm.nih.gov/projects/SNP"
_REFSEQ = "http://www.ncbi.nlm.nih.gov/refseq"

_CATEGORIES = [
    {"coding": [{"system": _OBSERVATION_CATEGORY, "code": "laboratory"}]},
    {"coding": [{"system": _V2_0074, "code": "GE"}]},
]
_GENOTYPE_CODE = {
    "coding": [{"system": _LOINC, "code": "84413-4", "display": "Genotype display name"}]
}
_VARIANT_CODE = {
    "coding": [{"system": _LOINC, "code": "69548-6", "display": "Genetic variant assessment"}]
}
_IMPLICATION_CODE = {"coding": [{"system": _TBD_CODES, "code": "therapeutic-implication"}]}

# CPIC term → (LOINC answer, display); a term without one ("Likely Poor Metabolizer") is text only.
_PHENOTYPE_ANSWERS = {
    term: (code, display) for code, (term, display) in LOINC_PHENOTYPE_ANSWERS.items()
}
# Genes PharmVar names alleles of; only their plain star diplotypes get a PharmVar coding.
_PHARMVAR_GENES = frozenset(
    {"CYP2B6", "CYP2C8", "CYP2C9", "CYP2C19", "CYP2D6", "CYP3A4", "CYP3A5", "CYP4F2", "NUDT15"}
)
_STAR = re.compile(r"^\*\d+[A-Z]?(?:\.\d{3})?(?:x(?:≥)?\d+)?$")
# "rs9923231 variant (T)": how PharmCAT names the alleles of a gene read at one position.
_SNP_ALLELE = re.compile(r"^(?P<rsid>rs\d+) (?:reference|variant) \((?P<base>[ACGT]+)\)$")
# "c.1905+1G>A (*2A)": a DPYD allele with the star name labs report it by.
_STAR_ALIAS = re.compile(r"^.+ \((?P<star>\*[^()\s]+)\)$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
# GRCh38 chromosome accessions (NCBI RefSeq assembly GCF_000001405.26): PharmCAT's definitions,
# and so the positions of ``VariantGenotype``, are on GRCh38.
_GRCH38 = {
    "1": "NC_000001.11", "2": "NC_000002.12", "3": "NC_000003.12", "4": "NC_000004.12",
    "5": "NC_000005.10", "6": "NC_000006.12", "7": "NC_000007.14", "8": "NC_000008.11",
    "9": "NC_000009.12", "10": "NC_000010.11", "11": "NC_000011.10", "12": "NC_000012.12",
    "13": "NC_000013.11", "14": "NC_000014.9", "15": "NC_000015.10", "16": "NC_000016.10",
    "17": "NC_000017.11", "18": "NC_000018.10", "19": "NC_000019.10", "20": "NC_000020.11",
    "21": "NC_000021.9", "22": "NC_000022.11", "X": "NC_000023.11", "Y": "NC_000024.10",
}  # fmt: skip
_LISTED = 10  # missing positions named in a note before "and N more"
# What an EHR can open from a link: absolute http(s), no spaces (FHIR url has none).
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def build_bundle(
    calls: SampleCalls, patient_id: str, *, issued: str, report_url: str | None = None
) -> dict[str, Any]:
    """A transaction Bundle of ``calls`` for ``Patient/<patient_id>``, reported at ``issued``.

    ``issued`` (a FHIR instant, ``2025-01-31T09:00:00Z``) is the only input that may differ
    between two builds of the same calls without changing any identifier. ``report_url``, where
    the printable HTML report is published, becomes the DiagnosticReport's ``presentedForm``; it
    is part of that report's identifier, so a report posted without it is not mistaken for it.
    """
    if not _INSTANT.match(issued):
        raise ValueError(f"issued {issued!r} is not a FHIR instant (2025-01-31T09:00:00Z)")
    if not patient_id:
        raise ValueError("patient_id is empty")
    if report_url is not None and not _HTTP_URL.match(report_url):
        raise ValueError(f"report_url {report_url!r} is not an absolute http(s) URL")
    writer = _Writer(calls, patient_id, issued)
    summary = [
        f"Sample {calls.sample} of {calls.input_name} (SHA-256 {calls.input_sha256[:12]}…): "
        f"{_provenance(calls.definitions_version)}."
    ]
    for call in calls.genes:
        summary.append(_write_gene(writer, call, calls.definitions_version))
    for variant in calls.variants:
        summary.append(_write_variant(writer, variant, calls))
    summary += [f"Warning: {w}" for w in calls.warnings]
    conclusion = "\n".join(summary)
    results = [{"reference": entry["fullUrl"]} for entry in writer.entries]
    presented = (
        {"presentedForm": [{"contentType": "text/html", "url": report_url, "title": REPORT_TITLE}]}
        if report_url is not None
        else {}
    )
    writer.add(
        {
            "resourceType": "DiagnosticReport",
            "meta": {"profile": [f"{_PROFILE}genomic-report"]},
            "status": "final",
            "category": [{"coding": [{"system": _V2_0074, "code": "GE", "display": "Genetics"}]}],
            "code": {
                "coding": [
                    {"system": _LOINC, "code": "51969-4", "display": "Genetic analysis report"}
                ]
            },
            **writer.about(),
            "result": results,
            "conclusion": conclusion,
            **presented,
        },
        "report",
        conclusion,
        *(entry["resource"]["identifier"][0]["value"] for entry in writer.entries),
        *([f"presented at {report_url}"] if report_url is not None else []),
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": writer.entries}


@dataclass(slots=True)
class _Writer:
    calls: SampleCalls
    patient_id: str
    issued: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    def about(self) -> dict[str, Any]:
        """Subject and times, the same on every resource (the reader compares results by date)."""
        return {
            "subject": {"reference": f"Patient/{self.patient_id}"},
            "effectiveDateTime": self.issued,
            "issued": self.issued,
        }

    def add(self, resource: dict[str, Any], *key: str) -> str:
        """Add ``resource`` as a conditional create; its ``urn:uuid`` fullUrl.

        The identifier digests the input, the sample, the patient, the definitions and ``key``
        (what the resource says): the same result is never created twice, a changed one is new.
        """
        parts = (
            self.calls.input_sha256,
            self.calls.sample,
            self.patient_id,
            self.calls.definitions_version,
            *key,
        )
        value = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        full_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{IDENTIFIER_SYSTEM}|{value}')}"
        kind = resource["resourceType"]
        head: dict[str, Any] = {k: resource[k] for k in ("resourceType", "meta") if k in resource}
        body: dict[str, Any] = {
            **head,
            "identifier": [{"system": IDENTIFIER_SYSTEM, "value": value}],
            **{k: v for k, v in resource.items() if k not in head},
        }
        self.entries.append(
            {
                "fullUrl": full_url,
                "resource": body,
                "request": {
                    "method": "POST",
                    "url": kind,
                    "ifNoneExist": f"identifier={IDENTIFIER_SYSTEM}|{value}",
                },
            }
        )
        return full_url

    def observation(
        self, profile: str | None, code: dict[str, Any], content: dict[str, Any], *key: str
    ) -> str:
        meta = {"meta": {"profile": [f"{_PROFILE}{profile}"]}} if profile else {}
        resource = {
            "resourceType": "Observation",
            **meta,
            "status": "final",
            "category": _CATEGORIES,
            "code": code,
            **self.about(),
            **content,
        }
        return self.add(resource, *key)


# -- genes ---------------------------------------------------------------------------------------


def _write_gene(writer: _Writer, call: SampleGeneCall, definitions_version: str) -> str:
    """Write ``call``'s Observations; its line of the report's conclusion."""
    gene = call.gene
    method = {"method": {"text": _method(call, definitions_version)}}
    caveats = _caveats(call)
    if not call.called:
        reason = "; ".join(call.notes) or "no diplotype matched the sample's alleles"
        absent = (
            ("not-performed", "Not Performed")
            if call.positions_read == 0
            else ("unknown", "Unknown")
        )
        # No genotype profile: it requires a value, and a value excludes dataAbsentReason.
        writer.observation(
            None,
            _GENOTYPE_CODE,
            {
                "dataAbsentReason": {
                    "coding": [{"system": _DATA_ABSENT, "code": absent[0], "display": absent[1]}]
                },
                **_notes([f"{gene} was not called.", *caveats]),
                **method,
                "component": [_gene_component(gene, call.hgnc_id)],
            },
            "not-called",
            gene,
            reason,
        )
        return f"{gene}: not called ({reason})"
    if not call.diplotypes and not call.variants:
        return _write_phenotype_only(writer, call, method, caveats)
    if not call.diplotypes:
        return _write_unphased(writer, call, method, caveats)
    phenotype = call.phenotype
    if len(call.diplotypes) == 1 or phenotype is not None:
        others = call.diplotypes[1:]
        notes = (
            [
                f"{len(call.diplotypes)} diplotypes are equally likely: "
                f"{', '.join(call.diplotypes)}; all give the phenotype {phenotype}."
            ]
            if others
            else []
        )
        if phenotype is None:
            notes.append("CPIC's tables give no phenotype for this diplotype.")
        genotype = _write_genotype(writer, call, 0, method, [*notes, *caveats])
        if phenotype is not None:
            _write_implication(writer, call, 0, genotype, phenotype)
        shown = " or ".join(call.diplotypes)
        return f"{gene}: {shown} ({phenotype or 'no CPIC phenotype'})"
    # Readings that disagree on the phenotype: each is written, so a reader sees the conflict and
    # asks for a confirmatory test instead of acting on one of them.
    readings = [
        f"{d} ({p or 'no CPIC phenotype'})"
        for d, p in zip(call.diplotypes, _padded(call), strict=True)
    ]
    for index, diplotype in enumerate(call.diplotypes):
        note = (
            f"One of {len(call.diplotypes)} equally likely diplotypes: {'; '.join(readings)}. "
            "They do not give the same phenotype: confirm with another test before acting on "
            f"{diplotype}."
        )
        genotype = _write_genotype(writer, call, index, method, [note, *caveats])
        candidate = _at(call.phenotypes, index)
        if candidate is not None:
            _write_implication(writer, call, index, genotype, candidate)
    return f"{gene}: ambiguous, {' or '.join(readings)}; needs confirmation"


def _write_genotype(
    writer: _Writer,
    call: SampleGeneCall,
    index: int,
    method: dict[str, Any],
    notes: list[str],
) -> str:
    diplotype = call.diplotypes[index]
    value = _genotype_value(call.gene, diplotype)
    if value["text"] != f"{call.gene} {diplotype}":
        notes = [*notes, f"PharmCAT names this diplotype {diplotype}."]
    return writer.observation(
        "genotype",
        _GENOTYPE_CODE,
        {
            "valueCodeableConcept": value,
            **_notes(notes),
            **method,
            "component": [_gene_component(call.gene, call.hgnc_id)],
        },
        "genotype",
        call.gene,
        str(index),
        value["text"],
    )


def _write_unphased(
    writer: _Writer, call: SampleGeneCall, method: dict[str, Any], caveats: list[str]
) -> str:
    """DPYD or RYR1 on unphased data: the variants found, and the phenotype they give."""
    counts = Counter(call.variants)
    found = ", ".join(f"{v} (homozygous)" if n > 1 else v for v, n in counts.items())
    # Star names where PharmCAT gives one: a "+" (c.1905+1G>A) makes readers take the text for a
    # GL String, so the full names go in a note.
    short = ", ".join(
        f"{_star_name(v)} (homozygous)" if n > 1 else _star_name(v) for v, n in counts.items()
    )
    text = f"{call.gene} variants found (unphased, no diplotype): {short}"
    named = [f"PharmCAT names the variants {found}."] if short != found else []
    genotype = writer.observation(
        "genotype",
        _GENOTYPE_CODE,
        {
            "valueCodeableConcept": {"text": text},
            **_notes([*named, *caveats]),
            **method,
            "component": [_gene_component(call.gene, call.hgnc_id)],
        },
        "genotype",
        call.gene,
        "unphased",
        text,
    )
    phenotype = call.phenotype
    if phenotype is not None:
        _write_implication(writer, call, 0, genotype, phenotype)
    return f"{call.gene}: {found}, unphased ({phenotype or 'no CPIC phenotype'})"


def _write_phenotype_only(
    writer: _Writer, call: SampleGeneCall, method: dict[str, Any], caveats: list[str]
) -> str:
    """An outside call that gives a phenotype or activity score but no diplotype."""
    reported = [p for p in call.phenotypes if p is not None]
    scores = [s for s in call.activity_scores if s is not None]
    said = "; ".join(
        [*(f"phenotype {p}" for p in reported), *(f"activity score {s}" for s in scores)]
    )
    # The implication profile requires a genotype to derive from: one without a value, saying so.
    genotype = writer.observation(
        None,
        _GENOTYPE_CODE,
        {
            "dataAbsentReason": {
                "coding": [{"system": _DATA_ABSENT, "code": "unknown", "display": "Unknown"}]
            },
            **_notes([f"The outside call gives no diplotype, only: {said}.", *caveats]),
            **method,
            "component": [_gene_component(call.gene, call.hgnc_id)],
        },
        "genotype",
        call.gene,
        "absent",
        said,
    )
    if call.phenotype is not None:
        _write_implication(writer, call, 0, genotype, call.phenotype)
    return f"{call.gene}: no diplotype ({said})"


def _write_implication(
    writer: _Writer, call: SampleGeneCall, index: int, genotype: str, phenotype: str
) -> None:
    notes = []
    if call.phenotype_basis:
        notes.append(f"Phenotype from the two lowest-function variants: {call.phenotype_basis}.")
    score = _at(call.activity_scores, index)
    if score is not None:
        notes.append(f"CPIC activity score {score}.")
    concept: dict[str, Any] = {"text": phenotype}
    if phenotype in _PHENOTYPE_ANSWERS:
        code, display = _PHENOTYPE_ANSWERS[phenotype]
        concept = {"coding": [{"system": _LOINC, "code": code, "display": display}], **concept}
    writer.observation(
        "therapeutic-implication",
        _IMPLICATION_CODE,
        {
            **_notes(notes),
            "derivedFrom": [{"reference": genotype}],
            "component": [{"code": _IMPLICATION_CODE, "valueCodeableConcept": concept}],
        },
        "implication",
        call.gene,
        str(index),
        phenotype,
        genotype,
    )


# -- single variants -----------------------------------------------------------------------------


def _write_variant(writer: _Writer, variant: VariantGenotype, calls: SampleCalls) -> str:
    """A variant Observation, and the genotype Observation "rs12777823 G/A" readers look for."""
    gene_call = calls.gene(variant.gene)
    gene = _gene_component(variant.gene, gene_call.hgnc_id if gene_call else None)
    alts = sorted({a for a in variant.alleles if a != variant.ref})
    components: list[dict[str, Any]] = [
        gene,
        _component("81252-9", {"valueCodeableConcept": _coded(_DBSNP, variant.rsid)}),
    ]
    chromosome = variant.chromosome.removeprefix("chr")
    if chromosome in _GRCH38:
        components.append(
            _component("48013-7", {"valueCodeableConcept": _coded(_REFSEQ, _GRCH38[chromosome])})
        )
    components += [
        _component(
            "92822-6",
            {"valueCodeableConcept": _coded(_LOINC, "LA30102-0", "1-based character counting")},
        ),
        _component("81254-5", {"valueRange": {"low": {"value": variant.position}}}),
        _component("69547-8", {"valueString": variant.ref}),
    ]
    if alts:
        components.append(_component("69551-0", {"valueString": ",".join(alts)}))
    if len(alts) == 1:
        state = ("LA6705-3", "Homozygous") if variant.ref not in variant.alleles else None
        state = state or ("LA6706-1", "Heterozygous")
        components.append(_component("53034-5", {"valueCodeableConcept": _coded(_LOINC, *state)}))
    components.append(
        _component("48002-0", {"valueCodeableConcept": _coded(_LOINC, "LA6683-2", "Germline")})
    )
    present = ("LA9633-4", "Present") if alts else ("LA9634-2", "Absent")
    method = {"method": {"text": _provenance(calls.definitions_version)}}
    found = writer.observation(
        "variant",
        _VARIANT_CODE,
        {"valueCodeableConcept": _coded(_LOINC, *present), **method, "component": components},
        "variant",
        variant.rsid,
        variant.genotype,
    )
    text = f"{variant.rsid} {variant.genotype}"
    writer.observation(
        "genotype",
        _GENOTYPE_CODE,
        {
            "valueCodeableConcept": {"text": text},
            **method,
            "derivedFrom": [{"reference": found}],
            "component": [gene],
        },
        "variant-genotype",
        variant.rsid,
        text,
    )
    return f"{variant.rsid} ({variant.gene}): {variant.genotype}"


# -- values and notes ----------------------------------------------------------------------------


def _genotype_value(gene: str, diplotype: str) -> dict[str, Any]:
    """The diplotype as a CodeableConcept whose text readers of lab results parse.

    Labs write VKORC1 as ``rs9923231 C/T`` and DPYD alleles by their star names (``*2A``); PharmCAT's
    own longer names are kept in a note by the caller.
    """
    alleles = diplotype.split("/")
    text = f"{gene} {diplotype}"
    concept: dict[str, Any] = {}
    if len(alleles) == 2:
        snps = [_SNP_ALLELE.match(a) for a in alleles]
        if all(snps) and len({m["rsid"] for m in snps if m}) == 1:
            rsid = next(m["rsid"] for m in snps if m)
            text = f"{gene} {rsid} {'/'.join(m['base'] for m in snps if m)}"
        else:
            text = f"{gene} {'/'.join(_star_name(a) for a in alleles)}"
        if gene in _PHARMVAR_GENES and all(_STAR.match(a) for a in alleles):
            concept["coding"] = [
                {
                    "system": _PHARMVAR,
                    "code": f"{gene}_{diplotype}",
                    "display": f"{gene} {diplotype}",
                }
            ]
    concept["text"] = text
    return concept


def _star_name(allele: str) -> str:
    alias = _STAR_ALIAS.match(allele)
    return alias["star"] if alias else allele


def _caveats(call: SampleGeneCall) -> list[str]:
    """What the call could not look at, then the caller's own notes."""
    found: list[str] = []
    missing = list(call.missing_positions)
    if missing:
        shown = ", ".join(missing[:_LISTED])
        more = f" and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
        found.append(f"Not assessed (missing from the VCF): {shown}{more}")
    if call.uncallable_alleles:
        found.append(f"alleles that could not be called: {', '.join(call.uncallable_alleles)}")
    joined = "; ".join(found)
    notes = [f"{joined[:1].upper()}{joined[1:]}."] if found else []
    return [*notes, *call.notes]


def _method(call: SampleGeneCall, definitions_version: str) -> str:
    if call.source == "outside call":
        return (
            "pgx-cds-hooks vcf2fhir, diplotype from an outside call; "
            f"phenotype from CPIC tables (PharmCAT {call.definition_version or definitions_version})"
        )
    return _provenance(call.definition_version or definitions_version)


def _provenance(version: str | None) -> str:
    return (
        f"pgx-cds-hooks vcf2fhir, allele definitions PharmCAT {version or '(version not recorded)'}"
        " (CPIC/PharmVar)"
    )


def _notes(texts: Sequence[str]) -> dict[str, Any]:
    return {"note": [{"text": t} for t in texts]} if texts else {}


def _gene_component(symbol: str, hgnc_id: str | None) -> dict[str, Any]:
    concept = _coded(_HGNC, hgnc_id, symbol) if hgnc_id else {"text": symbol}
    return _component("48018-6", {"valueCodeableConcept": concept}, "Gene studied [ID]")


def _component(code: str, value: dict[str, Any], display: str | None = None) -> dict[str, Any]:
    return {"code": _coded(_LOINC, code, display), **value}


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def _at(values: Sequence[str | None], index: int) -> str | None:
    return values[index] if index < len(values) else None


def _padded(call: SampleGeneCall) -> list[str | None]:
    return [_at(call.phenotypes, i) for i in range(len(call.diplotypes))]
