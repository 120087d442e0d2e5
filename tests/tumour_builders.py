"""Build tumour results in domain terms: ``variant_observation("EGFR", protein="p.Leu858Arg")``."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org"
HGVS = "http://varnomen.hgvs.org"
SNOMED = "http://snomed.info/sct"
SEQUENCE_ONTOLOGY = "http://www.sequenceontology.org"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
# HGNC ids as the IG's examples give them.
HGNC_IDS = {"EGFR": "HGNC:3236", "ROS1": "HGNC:10261", "ERBB2": "HGNC:3430", "CD274": "HGNC:17635"}
ORIGINS = {"somatic": ("LA6684-0", "Somatic"), "germline": ("LA6683-2", "Germline")}
PRESENT = ("LA9633-4", "Present")
ABSENT = ("LA9634-2", "Absent")
RESPONSIVE = ("LA6677-4", "Responsive")
NSCLC = ("254637007", "Non-small cell lung cancer (disorder)")


def concept(
    code: str | None = None, display: str | None = None, *, system: str = LOINC
) -> dict[str, Any]:
    """A CodeableConcept with one coding, or (``code`` None) text only."""
    if code is None:
        return {"text": display}
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def component(code: str, value: Any, *, system: str = LOINC) -> dict[str, Any]:
    """An Observation component; ``value`` a concept, a string or a ``valueQuantity`` dict."""
    part: dict[str, Any] = {"code": concept(code, system=system)}
    if isinstance(value, str):
        part["valueString"] = value
    elif "value" in value or "comparator" in value:
        part["valueQuantity"] = value
    else:
        part["valueCodeableConcept"] = value
    return part


def gene(symbol: str, *, hgnc_id: str | None = None, display: bool = True) -> dict[str, Any]:
    """Component 48018-6: the gene studied, by HGNC id and symbol."""
    code = hgnc_id or HGNC_IDS.get(symbol, symbol)
    return component("48018-6", concept(code, symbol if display else None, system=HGNC))


def observation(
    code: dict[str, Any],
    components: list[dict[str, Any]],
    *,
    id: str,
    profile: str | None = None,
    status: str = "final",
    value: dict[str, Any] | None = None,
    derived_from: tuple[str, ...] = (),
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": status,
        "code": code,
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-05-14",
        "component": components,
    }
    if profile is not None:
        resource["meta"] = {"profile": [PROFILE + profile]}
    if value is not None:
        resource["valueCodeableConcept"] = value
    if derived_from:
        resource["derivedFrom"] = [{"reference": r} for r in derived_from]
    return resource


def variant_observation(
    *genes: str,
    id: str = "var-1",
    protein: str | None = None,
    coding: str | None = None,
    variation: str | None = None,
    origin: str | None = "somatic",
    present: bool | None = True,
    allele_frequency: dict[str, Any] | None = None,
    copy_number: dict[str, Any] | None = None,
    change_type: tuple[str, str] | None = None,
    iscn: str | None = None,
    significance: tuple[str | None, str] | None = None,
    status: str = "final",
    hgnc_only: bool = False,
) -> dict[str, Any]:
    """A variant Observation (LOINC 69548-6) as the IG's examples write them."""
    parts = [gene(g, display=not hgnc_only) for g in genes]
    if protein is not None:
        parts.append(component("48005-3", concept(protein, system=HGVS)))
    if coding is not None:
        parts.append(component("48004-6", concept(coding, system=HGVS)))
    if variation is not None:
        parts.append(component("81252-9", concept(None, variation)))
    if origin is not None:
        parts.append(component("48002-0", concept(*ORIGINS[origin])))
    if allele_frequency is not None:
        parts.append(component("81258-6", allele_frequency))
    if copy_number is not None:
        parts.append(component("82155-3", copy_number))
    if change_type is not None:
        parts.append(component("48019-4", concept(*change_type, system=SEQUENCE_ONTOLOGY)))
    if iscn is not None:
        parts.append(component("81291-7", concept(iscn, system="https://iscn.karger.com")))
    if significance is not None:
        parts.append(component("53037-8", concept(*significance)))
    answer = None if present is None else concept(*(PRESENT if present else ABSENT))
    return observation(
        concept("69548-6"), parts, id=id, profile="variant", status=status, value=answer
    )


def biomarker_observation(
    code: str,
    *,
    system: str = LOINC,
    id: str = "marker-1",
    answer: tuple[str | None, str] | None = None,
    quantity: dict[str, Any] | None = None,
    gene_symbol: str | None = None,
    profile: bool = True,
) -> dict[str, Any]:
    """A molecular biomarker Observation (TMB, MSI, PD-L1 …) with a coded or numeric value."""
    parts = [gene(gene_symbol)] if gene_symbol else []
    resource = observation(
        concept(code, system=system),
        parts,
        id=id,
        profile="molecular-biomarker" if profile else None,
        value=concept(*answer) if answer else None,
    )
    if quantity is not None:
        resource["valueQuantity"] = quantity
    return resource


def implication_observation(
    *derived_from: str,
    id: str = "impl-1",
    answer: tuple[str | None, str] | None = RESPONSIVE,
    drugs: tuple[str, ...] = ("Gefitinib",),
    disease: tuple[str, str] | None = NSCLC,
    evidence: str | None = None,
) -> dict[str, Any]:
    """A therapeutic implication (tbd-codes-cs#therapeutic-implication) about ``drugs``."""
    parts = []
    if answer is not None:
        parts.append(component("therapeutic-implication", concept(*answer), system=TBD))
    parts += [component("51963-7", concept(None, drug)) for drug in drugs]
    if disease is not None:
        parts.append(component("81259-4", concept(*disease, system=SNOMED)))
    if evidence is not None:
        parts.append(component("93044-6", concept(None, evidence)))
    return observation(
        concept("therapeutic-implication", system=TBD),
        parts,
        id=id,
        profile="therapeutic-implication",
        derived_from=derived_from,
    )


def diagnostic_implication(
    *derived_from: str,
    id: str = "dx-1",
    significance: tuple[str | None, str] | None = ("LA6668-3", "Pathogenic"),
    disease: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A diagnostic implication (STU3): the lab's significance for what it is derived from."""
    parts = []
    if significance is not None:
        parts.append(component("53037-8", concept(*significance)))
    if disease is not None:
        parts.append(component("81259-4", concept(*disease, system=SNOMED)))
    return observation(
        concept("diagnostic-implication", system=TBD),
        parts,
        id=id,
        profile="diagnostic-implication",
        derived_from=derived_from,
    )


def region_studied(*genes: str, id: str = "region-1") -> dict[str, Any]:
    """An STU1/STU2 region-studied Observation (LOINC 53041-0) listing the genes of a panel."""
    return observation(concept("53041-0"), [gene(g) for g in genes], id=id)


def study_analysis(*genes: str, id: str = "analysis-1") -> dict[str, Any]:
    """An STU3 genomic-study-analysis Procedure whose regions studied are ``genes``."""
    studied = [
        {"url": "studied", "valueCodeableConcept": concept(HGNC_IDS.get(g, g), g, system=HGNC)}
        for g in genes
    ]
    return {
        "resourceType": "Procedure",
        "id": id,
        "status": "completed",
        "meta": {"profile": [PROFILE + "genomic-study-analysis"]},
        "extension": [{"url": PROFILE + "genomic-study-analysis-regions", "extension": studied}],
    }


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
