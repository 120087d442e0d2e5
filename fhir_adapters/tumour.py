"""Read tumour results (Genomics Reporting IG STU3 variants, biomarkers, implications) from FHIR.

What is read, from which Observations (codes checked against ../shared/onco/fhir: CODES.md, the
IG's examples and profiles; those that could not be are marked where they are used):

- variants (LOINC 69548-6 or the IG's ``variant`` profile): sequence variants, fusions, copy
  number and ISCN rearrangements, somatic or germline, present or absent;
- molecular biomarkers (the ``molecular-biomarker`` profile, or a code in the biomarker code
  list: TMB, MSI, PD-L1, HER2 …);
- therapeutic implications (``tbd-codes-cs#therapeutic-implication``) derived from those;
- diagnostic implications and STU1 significance Observations (53037-8) give a variant its
  clinical significance, molecular consequences (``molecular-consequence``) its p.HGVS;
- regions studied (STU1/STU2 Observation 53041-0, STU3 Procedure extension
  ``genomic-study-analysis-regions``) say which genes were tested.

Statuses are treated as ``fhir_adapters.genotype`` treats them: entered-in-error, cancelled and
registered results are left out (not unreadable), every other status is read, preliminary too.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from fhir_adapters.containers import Flattened, flatten
from fhir_adapters.genes import GENE_STUDIED, gene_of, has_code
from fhir_adapters.phenotypes import ABSENT, LOINC_PHENOTYPE_ANSWERS, presence
from fhir_adapters.resources import Resource, codings, effective_time
from knowledge.protein_change import parse_protein_change
from knowledge.tumour import (
    BiomarkerResult,
    Finding,
    FindingKind,
    LabImplication,
    Origin,
    Significance,
    TumourProfile,
)

__all__ = ["DEFAULT_BIOMARKER_CODES", "is_tumour_result", "read_tumour_profile"]

LOINC = "http://loinc.org"
_NCI_THESAURUS = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
_IG_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"

# Molecular biomarker codes (``system|code``) and the kind of result each is. The first five are
# the IG STU3 examples' codes (TMBExample, MSIExample, PDL1Example, HER2byImmuneStainExample,
# HER2byImmunoassayExample); the others are named by the IG's ValueSet
# molecular-biomarker-code-vs. Left out of that ValueSet on purpose: 81704-9 (one MSI marker,
# D17S250, which is not an MSI status) and the codes that are no tumour biomarker (HLA
# antibodies, neutrophil antibodies, lactoferrin, insulin, carbohydrates, lipids, HbA2, PSA).
# A site adds its own (other PD-L1 clones, HER2 ISH …) with ``biomarker_codes``.
DEFAULT_BIOMARKER_CODES: Mapping[str, str] = {
    f"{LOINC}|94076-7": "tmb",  # Mutations/Megabase [# Ratio] in Tumor
    f"{LOINC}|81695-9": "msi",  # Microsatellite instability [Interpretation] in Cancer specimen
    f"{LOINC}|85147-7": "pd-l1",  # PD-L1 by clone 22C3 in Tissue by Immune stain
    f"{LOINC}|18474-7": "her2",  # HER2 Ag [Presence] in Tissue by Immune stain
    f"{LOINC}|72382-5": "her2",  # HER2 [Units/volume] in Tissue by Immunoassay
    f"{LOINC}|94077-5": "tmb",  # Tumor mutation burden [Interpretation]
    f"{LOINC}|62862-8": "msi",  # Microsatellite instability by immune stain
    f"{LOINC}|85337-4": "er",  # Estrogen receptor Ag, immune stain, breast cancer specimen
    f"{LOINC}|40557-1": "pr",  # Progesterone receptor Ag, immune stain
    f"{LOINC}|64083-9": "mgmt-methylation",  # MGMT gene methylation score
    f"{_NCI_THESAURUS}|C120465": "hrd",  # Homologous Recombination Repair Deficiency
}
# The codes alone, for a quick first look (is_tumour_result).
_BIOMARKER_BARE_CODES = frozenset(token.split("|", 1)[-1] for token in DEFAULT_BIOMARKER_CODES)
# How a card names each default biomarker test; a site's own codes use the code's display.
_TEST_NAMES = {
    f"{LOINC}|94076-7": "TMB",
    f"{LOINC}|94077-5": "TMB",
    f"{LOINC}|81695-9": "MSI",
    f"{LOINC}|62862-8": "MSI IHC",
    f"{LOINC}|85147-7": "PD-L1 22C3 IHC",
    f"{LOINC}|18474-7": "HER2 IHC",
    f"{LOINC}|72382-5": "HER2 immunoassay",
    f"{LOINC}|85337-4": "ER IHC",
    f"{LOINC}|40557-1": "PR IHC",
    f"{LOINC}|64083-9": "MGMT methylation",
    f"{_NCI_THESAURUS}|C120465": "HRD",
}
# LOINC 94076-7 is a count per megabase by definition, whatever unit text a lab writes.
_TMB_PER_MEGABASE = f"{LOINC}|94076-7"

VARIANT = "69548-6"
REGION_STUDIED = "53041-0"
_PROTEIN_HGVS = "48005-3"
_CODING_HGVS = "48004-6"
_GENOMIC_HGVS = "81290-9"
_VARIATION_CODE = "81252-9"
# STU1's dbSNP ID component (IG STU1 example diagnosticreport-pgxexample), read like 81252-9.
_DBSNP = "81255-2"
_ISCN = "81291-7"
_SOURCE_CLASS = "48002-0"
_ALLELE_FREQUENCY = "81258-6"
_SIGNIFICANCE = "53037-8"
_CHANGE_TYPE = "48019-4"
_COPY_NUMBER = "82155-3"
_GENOMIC_REF_SEQ = "48013-7"
_EVIDENCE = "93044-6"
_MEDICATION = "51963-7"
_DISEASE = "81259-4"
# Codes of the IG's CodeSystem tbd-codes-cs.
_THERAPEUTIC = "therapeutic-implication"
_THERAPY = "associated-therapy"
_CONCLUSION = "conclusion-string"
_DIAGNOSTIC = "diagnostic-implication"
_CONSEQUENCE = "molecular-consequence"

_IGNORED_STATUSES = frozenset({"entered-in-error", "cancelled", "registered"})

# LOINC answer list LL378-1 (48002-0). Both codes are in the IG's examples.
_ORIGINS: dict[str, Origin] = {"LA6684-0": "somatic", "LA6683-2": "germline"}
# LOINC 53037-8 answers. In the shared IG files: LA6668-3 (example EGFR-L858R-significance),
# LA6675-8, LA6682-4 and LA6674-1 (ValueSet genetic-therapeutic-implications-vs). Not found
# there, taken from LOINC's answer list LL4034-6: LA26332-9, LA26333-7, LA26334-5. LA6669-1
# (and LA6674-1) are the older list's "Presumed pathogenic/benign", the words ACMG 2015
# replaced with "likely".
_SIGNIFICANCES: dict[str, Significance] = {
    "LA6668-3": "pathogenic",
    "LA26332-9": "likely-pathogenic",
    "LA6669-1": "likely-pathogenic",
    "LA26333-7": "uncertain",
    "LA6682-4": "uncertain",
    "LA26334-5": "likely-benign",
    "LA6674-1": "likely-benign",
    "LA6675-8": "benign",
}
_SIGNIFICANCE_WORDS: dict[str, Significance] = {
    "pathogenic": "pathogenic",
    "likely pathogenic": "likely-pathogenic",
    "presumed pathogenic": "likely-pathogenic",
    "uncertain significance": "uncertain",
    "unknown significance": "uncertain",
    "likely benign": "likely-benign",
    "presumed benign": "likely-benign",
    "benign": "benign",
}
# Sequence Ontology change types (48019-4). SO:0001019 copy_number_variation is in the IG's CNV
# example and CODES.md; the variant profile names copy_number_gain and copy_number_loss without
# codes. SO:0001742 (gain), SO:0001743 (loss), SO:0001880 (feature_amplification) and
# SO:0001565 (gene_fusion) are the Sequence Ontology's own, not found in the shared IG files.
_COPY_NUMBER_TYPES = frozenset({"SO:0001019", "SO:0001742", "SO:0001743", "SO:0001880"})
_COPY_CHANGES: dict[str, Literal["gain", "amplification", "loss"]] = {
    "SO:0001742": "gain",
    "SO:0001743": "loss",
    "SO:0001880": "amplification",
    "copy_number_gain": "gain",
    "copy_number_loss": "loss",
    "feature_amplification": "amplification",
}
_FUSION_TYPES = frozenset({"SO:0001565"})
# SO:0002073 "wild type" (IG example Pgx-var-1011): a reference call, no alteration.
_WILD_TYPE = "SO:0002073"
# Implication answers that are germline PGx phenotypes (ValueSet genetic-therapeutic-
# implications-vs): metabolizer and function terms, and High/Low risk (HLA-B carbamazepine).
_PGX_ANSWERS = frozenset(LOINC_PHENOTYPE_ANSWERS) | {"LA19541-4", "LA19542-2"}

# A gene symbol as labs write it at the start of a variation code ("EGFR L858R", "ROS1 Fusion").
_SYMBOL = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)?"
_LEADING_SYMBOL = re.compile(rf"^(?P<gene>{_SYMBOL})\s+(?P<rest>\S.*)$")
# Two genes joined as fusions are written: "EML4-ALK", "BCR::ABL1" (HGVS), "BCR/ABL1".
_GENE_PAIR = re.compile(
    r"^(?P<five>[A-Z][A-Z0-9]*)(?:::|-|/)(?P<three>[A-Z][A-Z0-9]*)(?i:\s+fusion)?$"
)
# "-AS1", "-IT1", "-DT" end long non-coding RNA symbols (HNF1A-AS1); "HLA-" starts HLA genes.
_NOT_A_PARTNER = re.compile(r"^(?:AS|IT)\d*$|^DT$")
_TRANSLOCATION = re.compile(
    r"t\((?P<first>[0-9XY]+);(?P<second>[0-9XY]+)\)\((?P<band1>[pq][0-9.]+);(?P<band2>[pq][0-9.]+)\)"
)
# The Philadelphia translocation t(9;22)(q34;q11) joins BCR (22q11.23) to ABL1 (9q34.12):
# BCR-ABL1. Only those breakpoints are read as BCR-ABL1; the IG's CML example writes
# "t(9;22)(q34;q4)" (no band q4 on chromosome 22), which is left without partners.
_KNOWN_TRANSLOCATIONS = {(("9", "q34"), ("22", "q11")): ("BCR", "ABL1")}


def read_tumour_profile(
    resources: Iterable[Any],
    *,
    hgnc_symbols: Mapping[str, str] | None = None,
    biomarker_codes: Mapping[str, str] | None = None,
    identify_drug: Callable[[Any], str | None] | None = None,
) -> TumourProfile:
    """Everything ``resources`` say about the patient's tumour, and germline cancer-gene findings.

    ``hgnc_symbols`` names genes sent by HGNC id only (``HGNC:3236`` → ``EGFR``);
    ``biomarker_codes`` (``system|code`` → kind) adds to or overrides
    ``DEFAULT_BIOMARKER_CODES``, an empty kind removing a code; ``identify_drug`` names the
    drug of a lab's therapeutic implication. Results that look like tumour results but cannot be
    read are listed in ``unreadable``; nothing raises on malformed input.
    """
    codes = {
        token: kind
        for token, kind in {**DEFAULT_BIOMARKER_CODES, **(biomarker_codes or {})}.items()
        if kind
    }
    # A Bundle (or any one resource) passed alone is read like a list holding it.
    single = isinstance(resources, Mapping) or not isinstance(resources, Iterable)
    values = [resources] if single else list(resources)
    reader = _Reader(
        flatten(values), _by_full_url(values), hgnc_symbols or {}, codes, identify_drug
    )
    _LOCAL.indexes = {}
    try:
        return reader.read()
    finally:
        _LOCAL.indexes = None


def is_tumour_result(resource: Any) -> bool:
    """A somatic variant or a molecular biomarker: a result about the tumour, not the germline."""
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Observation":
        return False
    # The germline reader asks this of every result of every hook call: settle the common
    # case (a genotype, a haplotype) from the bare codes before any closer look.
    codes = {code for c in codings(resource.get("code")) if isinstance(code := c.get("code"), str)}
    profiles = _profiles(resource)
    if VARIANT in codes or "variant" in profiles:
        return _origin(resource) == "somatic"
    if "molecular-biomarker" in profiles:
        return True
    return not codes.isdisjoint(_BIOMARKER_BARE_CODES) and (
        _biomarker_code(resource, DEFAULT_BIOMARKER_CODES) is not None
    )


@dataclass(slots=True)
class _Variant:
    """A finding being read, with what its label is made from once every result is in."""

    finding: Finding
    partners: tuple[str, ...]
    variation: str | None
    reference: str | None


class _Reader:
    def __init__(
        self,
        flat: Flattened,
        full_urls: Mapping[str, Resource],
        hgnc_symbols: Mapping[str, str],
        codes: Mapping[str, str],
        identify_drug: Callable[[Any], str | None] | None,
    ) -> None:
        self.flat = flat
        self.full_urls = full_urls
        self.hgnc_symbols = hgnc_symbols
        self.codes = codes
        self.identify_drug = identify_drug
        self.names = {id(r): n for n, r in flat.resources}
        # Keyed by the resource read, so implications can reach what they are derived from.
        self.variants: dict[int, _Variant] = {}
        self.biomarkers: dict[int, BiomarkerResult] = {}
        self.implications: list[LabImplication] = []
        self.tested: set[str] = set()
        self.tumour_codes: set[str] = set()
        self.unreadable: list[tuple[str | None, str]] = []

    def read(self) -> TumourProfile:
        current = [
            (name, r)
            for name, r in self.flat.resources
            if r.get("resourceType") in ("Observation", "Procedure")
            and _status(r) not in _IGNORED_STATUSES
        ]
        observations = [(n, r) for n, r in current if r.get("resourceType") == "Observation"]
        for name, resource in observations:
            if _is_variant(resource):
                self._variant(name, resource)
            elif (token := self._biomarker_token(resource)) is not None:
                self._biomarker(name, resource, token)
            elif has_code(resource, REGION_STUDIED):
                self.tested.update(self._genes(resource))
        for _, resource in current:
            if resource.get("resourceType") == "Procedure":
                self.tested.update(self._studied(resource))
        # Results derived from variants, read once every variant is.
        for name, resource in observations:
            if _is_variant(resource):
                continue
            if has_code(resource, _CONSEQUENCE):
                self._consequence(resource)
            elif has_code(resource, _THERAPEUTIC):
                self._implication(name, resource)
            elif has_code(resource, _DIAGNOSTIC, _SIGNIFICANCE) or (
                "diagnostic-implication" in _profiles(resource)
            ):
                self._diagnostic(resource)
        # Genes with a finding are not added to tested_genes: what a finding shows was tested
        # depends on its kind and origin, which knowledge.marker_call weighs per marker.
        findings = tuple(replace(v.finding, label=_label(v)) for v in self.variants.values())
        return TumourProfile(
            findings=findings,
            biomarkers=tuple(self.biomarkers.values()),
            implications=tuple(self.implications),
            tested_genes=frozenset(self.tested),
            tumour_codes=frozenset(self.tumour_codes),
            unreadable=tuple(self.unreadable),
        )

    # -- variants --------------------------------------------------------------------------

    def _variant(self, name: str | None, resource: Resource) -> None:
        if isinstance(resource.get("dataAbsentReason"), Mapping):
            return  # the lab says there is no result (not called): nothing to read
        change_types = _component_words(resource, _CHANGE_TYPE, first="code")
        if _WILD_TYPE in change_types:
            return
        origin = _origin(resource)
        genes = self._genes(resource)
        protein_hgvs = _first(_component_words(resource, _PROTEIN_HGVS, first="code"))
        coding_hgvs = _first(_component_words(resource, _CODING_HGVS, first="code"))
        genomic_hgvs = _first(_component_words(resource, _GENOMIC_HGVS, first="code"))
        variation = _first(
            [*_component_words(resource, _VARIATION_CODE), *_component_words(resource, _DBSNP)]
        )
        iscn = _first(_component_words(resource, _ISCN, first="code"))
        copies, _ = _quantity(_component(resource, _COPY_NUMBER))
        copies = copies if copies is not None and copies >= 0 else None
        protein = parse_protein_change(protein_hgvs) if protein_hgvs else None

        fusion = bool(_FUSION_TYPES.intersection(change_types)) or any(
            "fusion" in w.lower() for w in change_types
        )
        pair: tuple[str, ...] = ()
        if variation is not None:
            # The lab's own name: "EGFR L858R", "ROS1 Fusion", "EML4-ALK".
            pair = _gene_pair(variation)
            named = _LEADING_SYMBOL.match(variation)
            if not pair and named is not None:
                if not genes:
                    genes = [named["gene"]]
                if protein is None and protein_hgvs is None:
                    protein = parse_protein_change(named["rest"])
            fusion = fusion or bool(pair) or re.search(r"(?i)\bfusions?\b", variation) is not None
        copy_change = next((_COPY_CHANGES[w] for w in change_types if w in _COPY_CHANGES), None)
        if copy_change is None and re.search(
            r"(?i)\bamplifi(?:cation|ed)\b", " ".join([variation or "", *change_types])
        ):
            copy_change = "amplification"
        partners = tuple(
            dict.fromkeys([*pair, *genes, *(_translocation_partners(iscn) if iscn else ())])
        )
        kind: FindingKind
        if iscn:
            kind = "rearrangement"
        elif fusion:
            kind = "fusion"
        elif copies is not None or copy_change or _COPY_NUMBER_TYPES.intersection(change_types):
            kind = "copy-number"
        else:
            kind = "variant"
        answer = presence(resource.get("valueCodeableConcept", resource.get("valueString")))
        described = bool(
            protein_hgvs
            or coding_hgvs
            or genomic_hgvs
            or iscn
            or copies is not None
            or copy_change
            or kind == "copy-number"
            or (fusion and partners)
            or (variation and genes)
        )
        if not described:
            if answer == ABSENT and genes:
                self.tested.update(genes)  # "no variant found in BRCA1": the gene was looked at
            elif origin == "somatic" or (genes and origin == "unknown"):
                self._unreadable(
                    name,
                    f"{_what(genes)} does not say which change it is: give p.HGVS (48005-3), "
                    "c.HGVS (48004-6), a variation code (81252-9), ISCN (81291-7) or a copy "
                    "number (82155-3)",
                )
            # Otherwise a germline panel's positional call (the IG's STU1 CYP2C19 report has
            # 74, with neither gene nor change): the germline reader's business.
            return
        if answer is None:
            self._unreadable(
                name, f"{_what(genes)} has no Present/Absent value (LOINC LA9633-4 / LA9634-2)"
            )
            return
        self.variants[id(resource)] = _Variant(
            Finding(
                gene=genes[0] if genes else None,
                kind=kind,
                label="",
                present=answer != ABSENT,
                origin=origin,
                protein=protein,
                protein_hgvs=protein_hgvs,
                coding_hgvs=coding_hgvs,
                partners=frozenset(partners)
                if kind in ("fusion", "rearrangement")
                else frozenset(),
                copy_number=copies,
                copy_change=copy_change if kind == "copy-number" else None,
                iscn=iscn,
                allele_frequency=_allele_frequency(_component(resource, _ALLELE_FREQUENCY)),
                significance=_significance(_value(_component(resource, _SIGNIFICANCE))),
                source=name,
                effective=effective_time(resource),
                genomic_hgvs=genomic_hgvs,
            ),
            partners,
            variation,
            _first(_component_words(resource, _GENOMIC_REF_SEQ, first="code")),
        )

    def _consequence(self, resource: Resource) -> None:
        """A molecular consequence carries the p.HGVS (and c.HGVS) some STU3 variants leave out."""
        protein_hgvs = _first(_component_words(resource, _PROTEIN_HGVS, first="code"))
        coding_hgvs = _first(_component_words(resource, _CODING_HGVS, first="code"))
        for target in self._derived_from(resource):
            read = self.variants.get(id(target))
            if read is None:
                continue
            finding = read.finding
            if finding.protein_hgvs is None and protein_hgvs is not None:
                protein = parse_protein_change(protein_hgvs)
                finding = replace(finding, protein_hgvs=protein_hgvs, protein=protein)
            if finding.coding_hgvs is None and coding_hgvs is not None:
                finding = replace(finding, coding_hgvs=coding_hgvs)
            read.finding = finding

    def _diagnostic(self, resource: Resource) -> None:
        """Significance for the variants it is derived from; the tumour named, unless germline.

        STU2/STU3 put the significance in component 53037-8 of a diagnostic implication, STU1
        (and eMERGE) in the value of an Observation coded 53037-8.
        """
        significance = _significance(_value(_component(resource, _SIGNIFICANCE)))
        if significance is None and has_code(resource, _SIGNIFICANCE):
            significance = _significance(resource.get("valueCodeableConcept"))
        targets = self._derived_from(resource)
        for target in targets:
            read = self.variants.get(id(target))
            if read is not None and significance is not None and read.finding.significance is None:
                read.finding = replace(read.finding, significance=significance)
        # A germline variant's associated condition is a predisposition, not the tumour's type.
        if any(
            id(t) in self.biomarkers
            or (id(t) in self.variants and self.variants[id(t)].finding.origin != "germline")
            for t in targets
        ):
            for component in _components(resource, _DISEASE):
                self.tumour_codes.update(_tokens(_value(component)))

    # -- biomarkers ------------------------------------------------------------------------

    def _biomarker_token(self, resource: Resource) -> str | None:
        """The biomarker code list entry ``resource`` is coded with; "" for an unlisted one."""
        token = _biomarker_code(resource, self.codes)
        if token is None and "molecular-biomarker" in _profiles(resource):
            return ""
        return token

    def _biomarker(self, name: str | None, resource: Resource, token: str) -> None:
        if not token:
            codes = ", ".join(_tokens(resource.get("code"))) or "no code"
            self._unreadable(
                name,
                f"molecular biomarker ({codes}) is not in the biomarker code list: add its "
                "code to the site's biomarker codes to read it",
            )
            return
        if isinstance(resource.get("dataAbsentReason"), Mapping):
            return
        kind = self.codes[token]
        concept = resource.get("valueCodeableConcept")
        value, unit = _quantity(resource)
        answers = {*_tokens(concept), *(w.lower() for w in _texts(concept))}
        if isinstance(resource.get("valueString"), str) and resource["valueString"].strip():
            answers.add(resource["valueString"].strip().lower())
        # The lab's own call on a number (TMB "H"igh, "POS"): knowledge may read it like an answer.
        for interpretation in _list(resource.get("interpretation")):
            answers.update(_tokens(interpretation))
            answers.update(w.lower() for w in _texts(interpretation))
        answers.discard("")
        test = _TEST_NAMES.get(token) or _first(_words(resource.get("code"), first="text")) or kind
        shown = _first([*_words(concept, first="display"), *_words(resource.get("valueString"))])
        if value is None and shown is None:
            self._unreadable(name, f"{test} result has no value")
            return
        if value is not None and token == _TMB_PER_MEGABASE:
            text = f"{value:g} mutations/Mb"
        elif value is not None:
            text = f"{test}: {value:g} {unit or ''}".rstrip()
        elif shown is not None and _names_itself(shown, test):
            text = shown
        else:
            text = f"{test}: {shown}"
        self.biomarkers[id(resource)] = BiomarkerResult(
            kind=kind,
            text=text,
            value=value,
            unit=unit,
            answers=frozenset(answers),
            gene=gene_of(resource, self.hgnc_symbols),
            code=token,
            source=name,
            effective=effective_time(resource),
        )

    # -- implications ----------------------------------------------------------------------

    def _implication(self, name: str | None, resource: Resource) -> None:
        """The lab's drug statement, unless it is about germline PGx results.

        Skipped, not unreadable: one derived (``derivedFrom``) only from results other than
        variants and molecular biomarkers (genotypes, haplotypes), and one whose answer is a PGx
        phenotype (metabolizer, function, HLA risk) whatever it is derived from. One derived
        from nothing among the input is read unless its answer is a PGx one.
        """
        targets = self._derived_from(resource)
        if targets and not any(self._is_tumour_profile_result(t) for t in targets):
            return
        answer = _value(_component(resource, _THERAPEUTIC))
        if _is_pgx_answer(answer):
            return
        implication = _first(_words(answer, first="display"))
        if implication is None:
            self._unreadable(
                name,
                "therapeutic implication without its implication: component "
                "therapeutic-implication carries Responsive, Resistant …",
            )
            return
        diseases = [_value(c) for c in _components(resource, _DISEASE)]
        for disease in diseases:
            self.tumour_codes.update(_tokens(disease))
        statement = LabImplication(
            implication,
            evidence=_first(_component_words(resource, _EVIDENCE)),
            disease=_first([w for d in diseases for w in _words(d)]),
            conclusion=_first(_component_words(resource, _CONCLUSION)),
            derived_from=self._derived_names(resource),
            source=name,
        )
        values = [_value(c) for c in _components(resource, _MEDICATION, _THERAPY)]
        concepts = [
            {"text": v} if isinstance(v, str) else v for v in values if isinstance(v, str | Mapping)
        ]
        if not concepts:
            self.implications.append(statement)
        # One statement per drug assessed, each drug named as the knowledge names it.
        for concept in concepts:
            named = self.identify_drug(concept) if self.identify_drug is not None else None
            self.implications.append(
                replace(statement, drug=named, drug_text=_first(_words(concept)))
            )

    def _is_tumour_profile_result(self, resource: Resource) -> bool:
        if resource.get("resourceType") != "Observation":
            return False
        return _is_variant(resource) or self._biomarker_token(resource) is not None

    # -- genes and references --------------------------------------------------------------

    def _genes(self, resource: Resource) -> list[str]:
        """Every gene of the 48018-6 components (a fusion has two), else the legacy extension's."""
        found = [
            g
            for c in _components(resource, GENE_STUDIED)
            if (g := self._gene(c.get("valueCodeableConcept")))
        ]
        if not found and (gene := gene_of(resource, self.hgnc_symbols)) is not None:
            found.append(gene)
        return list(dict.fromkeys(found))

    def _gene(self, concept: Any) -> str | None:
        # gene_of reads one gene-studied component the way the germline reader does.
        component = {"code": {"coding": [{"code": GENE_STUDIED}]}, "valueCodeableConcept": concept}
        return gene_of({"component": [component]}, self.hgnc_symbols)

    def _studied(self, resource: Resource) -> list[str]:
        """The genes of an STU3 genomic-study-analysis Procedure's regions studied."""
        genes = []
        for extension in _list(resource.get("extension")):
            if not isinstance(extension, Mapping) or extension.get("url") != _REGIONS:
                continue
            for part in _list(extension.get("extension")):
                if isinstance(part, Mapping) and part.get("url") == "studied":
                    gene = self._gene(part.get("valueCodeableConcept"))
                    if gene is not None:
                        genes.append(gene)
        return genes

    def _resolve(self, reference: Any, within: Resource) -> Resource | None:
        found = self.flat.resolve(reference, within)
        if found is None and isinstance(reference, Mapping):
            found = self.full_urls.get(str(reference.get("reference")))
        return found

    def _derived_from(self, resource: Resource) -> list[Resource]:
        targets = (self._resolve(r, resource) for r in _list(resource.get("derivedFrom")))
        return [t for t in targets if t is not None]

    def _derived_names(self, resource: Resource) -> tuple[str, ...]:
        """What it is derived from, named as those results' ``source`` is (else as referenced)."""
        names = []
        for reference in _list(resource.get("derivedFrom")):
            target = self._resolve(reference, resource)
            name = self.names.get(id(target)) if target is not None else None
            raw = reference.get("reference") if isinstance(reference, Mapping) else None
            if name is not None or isinstance(raw, str):
                names.append(name or str(raw))
        return tuple(names)

    def _unreadable(self, source: str | None, reason: str) -> None:
        self.unreadable.append((source, reason))


_REGIONS = f"{_IG_PROFILE}genomic-study-analysis-regions"


def _by_full_url(values: Iterable[Any]) -> dict[str, Resource]:
    """Bundle entries by ``fullUrl``: ``flatten`` knows an entry with an id by that id only, and
    the IG's own Bundles refer to such entries by their ``urn:uuid`` fullUrl."""
    found: dict[str, Resource] = {}
    stack = list(values)
    while stack:
        value = stack.pop()
        if not isinstance(value, Mapping) or value.get("resourceType") != "Bundle":
            continue
        for entry in _list(value.get("entry")):
            if isinstance(entry, Mapping) and isinstance(entry.get("resource"), Mapping):
                url = entry.get("fullUrl")
                if isinstance(url, str) and url:
                    found.setdefault(url, entry["resource"])
                stack.append(entry["resource"])
    return found


def _label(read: _Variant) -> str:
    """``EGFR L858R``, ``ROS1 fusion``, ``BCR-ABL1 t(9;22)``, ``ERBB2 amplification``."""
    finding = read.finding
    gene = finding.gene
    if finding.kind == "rearrangement":
        iscn = finding.iscn or ""
        named = re.search(r"t\([^)]*\)", iscn)
        shown = named.group(0) if named else iscn
        return f"{'-'.join(read.partners)} {shown}" if read.partners else shown
    if finding.kind == "fusion":
        return f"{'-'.join(read.partners)} fusion" if read.partners else "fusion"
    if finding.kind == "copy-number":
        subject = gene or read.reference or ""
        change = finding.copy_change or (
            f"copy number {finding.copy_number:g}"
            if finding.copy_number is not None
            else "copy number change"
        )
        return f"{subject} {change}".strip()
    if finding.protein is not None:
        change = finding.protein.text
    elif read.variation is not None:
        if gene is None or read.variation.startswith(f"{gene} "):
            return read.variation
        change = read.variation
    else:
        change = next(
            (
                hgvs.split(":")[-1] if hgvs is not finding.genomic_hgvs else hgvs
                for hgvs in (finding.protein_hgvs, finding.coding_hgvs, finding.genomic_hgvs)
                if hgvs
            ),
            "variant",
        )
    return f"{gene} {change}" if gene else change


def _names_itself(answer: str, test: str) -> bool:
    """Whether ``answer`` names its test ("MSI-H" for MSI) and needs no "MSI: " before it."""
    words = test.lower().split()
    return bool(words) and re.search(rf"\b{re.escape(words[0])}\b", answer.lower()) is not None


def _gene_pair(text: str) -> tuple[str, ...]:
    """("EML4", "ALK") for "EML4-ALK" / "EML4::ALK fusion"; () when it names no two genes."""
    match = _GENE_PAIR.match(text.strip())
    if match is None:
        return ()
    five, three = match["five"], match["three"]
    if (
        five == three
        or five == "HLA"
        or _NOT_A_PARTNER.match(three)
        or parse_protein_change(three) is not None
    ):
        return ()
    return (five, three)


def _translocation_partners(iscn: str) -> tuple[str, ...]:
    for match in _TRANSLOCATION.finditer(iscn):
        key = (
            (match["first"], _major_band(match["band1"])),
            (match["second"], _major_band(match["band2"])),
        )
        if key in _KNOWN_TRANSLOCATIONS:
            return _KNOWN_TRANSLOCATIONS[key]
    return ()


def _major_band(band: str) -> str:
    """``q34`` of ``q34.1``: the band, without its sub-bands."""
    return band.split(".")[0]


def _what(genes: list[str]) -> str:
    return f"{genes[0]} variant" if genes else "variant"


# -- reading FHIR values ---------------------------------------------------------------------


def _is_variant(resource: Resource) -> bool:
    return has_code(resource, VARIANT) or "variant" in _profiles(resource)


def _profiles(resource: Resource) -> frozenset[str]:
    """The IG profiles ``resource`` claims, by their last name: ``variant``, ``molecular-biomarker``."""
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, Mapping) else None
    return frozenset(
        p.split("|")[0].removeprefix(_IG_PROFILE)
        for p in _list(profiles)
        if isinstance(p, str) and p.startswith(_IG_PROFILE)
    )


def _biomarker_code(resource: Resource, codes: Mapping[str, str]) -> str | None:
    """The entry of ``codes`` that ``resource.code`` has; a coding without a system matches the
    one entry with its code, if only one has it."""
    for coding in codings(resource.get("code")):
        code, system = coding.get("code"), coding.get("system")
        if not isinstance(code, str):
            continue
        if isinstance(system, str):
            if f"{system}|{code}" in codes:
                return f"{system}|{code}"
            continue
        same = [token for token in codes if token.rpartition("|")[2] == code]
        if len(same) == 1:
            return same[0]
    return None


def _origin(resource: Resource) -> Origin:
    value = _value(_component(resource, _SOURCE_CLASS))
    for coding in codings(value):
        if (code := _code(coding)) in _ORIGINS:
            return _ORIGINS[code]
    for word in _words(value):
        if word.lower() in ("somatic", "germline"):
            return "somatic" if word.lower() == "somatic" else "germline"
    return "unknown"


def _significance(value: Any) -> Significance | None:
    for coding in codings(value):
        if (code := _code(coding)) in _SIGNIFICANCES:
            return _SIGNIFICANCES[code]
    for word in _words(value):
        if word.lower() in _SIGNIFICANCE_WORDS:
            return _SIGNIFICANCE_WORDS[word.lower()]
    return None


def _is_pgx_answer(value: Any) -> bool:
    if any(_code(c) in _PGX_ANSWERS for c in codings(value)):
        return True
    return any(w.lower().endswith(("metabolizer", "function")) for w in _words(value))


def _allele_frequency(component: Any) -> float | None:
    """The fraction of reads; a lab's percentage (unit ``%``) is divided by 100."""
    value, unit = _quantity(component)
    if value is not None and unit == "%":
        value /= 100
    return value if value is not None and 0 <= value <= 1 else None


def _quantity(element: Any) -> tuple[float | None, str | None]:
    """The number of ``valueQuantity`` (or ``valueInteger``) and its unit.

    A comparator (``>8`` copies) makes the number a bound, not a value: it is not read.
    """
    if not isinstance(element, Mapping):
        return None, None
    quantity = element.get("valueQuantity")
    if isinstance(quantity, Mapping):
        if quantity.get("comparator") is not None:
            return None, None
        number, unit = quantity.get("value"), quantity.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            unit = quantity.get("code")
    else:
        number, unit = element.get("valueInteger"), None
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None, None
    try:
        value = float(number)
    except OverflowError:  # an integer past float's range
        return None, None
    if not math.isfinite(value):
        return None, None
    return value, unit.strip() if isinstance(unit, str) and unit.strip() else None


def _components(resource: Resource, *codes: str) -> list[Mapping[str, Any]]:
    index = _component_index(resource)
    if len(codes) == 1:
        return index.get(codes[0], [])
    # Several codes: keep the resource's own order of components.
    wanted = {id(c) for code in codes for c in index.get(code, ())}
    return [c for c in _list(resource.get("component")) if id(c) in wanted]


def _component_index(resource: Resource) -> dict[str, list[Mapping[str, Any]]]:
    """The resource's components by code, built once per resource: a variant's components are
    looked up a dozen times, and scanning every coding each time made reading 5x slower."""
    indexes: dict[int, tuple[Resource, dict[str, list[Mapping[str, Any]]]]] | None = getattr(
        _LOCAL, "indexes", None
    )
    cached = indexes.get(id(resource)) if indexes is not None else None
    # The identity check makes a reused id (the resource freed, another at its address) harmless.
    if cached is not None and cached[0] is resource:
        return cached[1]
    index: dict[str, list[Mapping[str, Any]]] = {}
    for component in _list(resource.get("component")):
        if not isinstance(component, Mapping):
            continue
        # Codes may be anything in hostile input (a list, a number): only strings are codes.
        codes = {
            code for c in codings(component.get("code")) if isinstance(code := c.get("code"), str)
        }
        for code in codes:
            index.setdefault(code, []).append(component)
    if indexes is not None:
        indexes[id(resource)] = (resource, index)
    return index


# Per thread, for one read_tumour_profile call (emptied when it returns, so no patient data
# outlives the call): id(resource) -> (resource, its component index). Holding the resource
# keeps its id from being reused while the entry lives.
_LOCAL = threading.local()


def _component(resource: Resource, code: str) -> Mapping[str, Any] | None:
    found = _components(resource, code)
    return found[0] if found else None


def _value(component: Any) -> Any:
    """A component's (or resource's) value: its CodeableConcept, else its string."""
    if not isinstance(component, Mapping):
        return None
    concept = component.get("valueCodeableConcept")
    return concept if concept is not None else component.get("valueString")


def _component_words(
    resource: Resource, code: str, *, first: Literal["text", "display", "code"] = "text"
) -> list[str]:
    return [w for c in _components(resource, code) for w in _words(_value(c), first=first)]


def _words(value: Any, *, first: Literal["text", "display", "code"] = "text") -> list[str]:
    """A value's strings, the kind given first: a concept's text, codings' displays and codes.

    HGVS and ISCN are read code first (the expression is the code); a string is itself.
    """
    if isinstance(value, str):
        found: list[Any] = [value]
    elif isinstance(value, Mapping):
        text = [value.get("text")]
        displays = [c.get("display") for c in codings(value)]
        codes = [c.get("code") for c in codings(value)]
        order = {
            "text": (text, displays, codes),
            "display": (displays, text, codes),
            "code": (codes, displays, text),
        }[first]
        found = [w for group in order for w in group]
    else:
        return []
    return [w.strip() for w in found if isinstance(w, str) and w.strip()]


def _texts(concept: Any) -> list[str]:
    """A concept's words without its codes: its text and its codings' displays."""
    codes = {_code(c) for c in codings(concept)}
    return [w for w in _words(concept) if w not in codes]


def _code(coding: Mapping[str, Any]) -> str:
    """A coding's code; "" for none, or for a code that is not text (bad data matches nothing)."""
    code = coding.get("code")
    return code if isinstance(code, str) else ""


def _first(words: Iterable[str]) -> str | None:
    return next(iter(words), None)


def _tokens(concept: Any) -> list[str]:
    """A concept's codings as FHIR tokens: ``system|code`` (the code alone without a system)."""
    tokens = []
    for coding in codings(concept):
        code, system = coding.get("code"), coding.get("system")
        if isinstance(code, str) and code.strip():
            tokens.append(f"{system}|{code}" if isinstance(system, str) and system else code)
    return tokens


def _status(resource: Resource) -> str | None:
    status = resource.get("status")
    return status if isinstance(status, str) and status else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
