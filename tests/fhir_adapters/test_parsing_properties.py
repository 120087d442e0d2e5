"""Property tests: the FHIR readers never raise, whatever JSON a client or server sends.

Every reader here is documented to skip what it cannot use ("malformed input is skipped, never
raised on"), so the only acceptable outcome is a return value. Inputs are arbitrary JSON, and
"near-valid" FHIR: the Genomics Reporting IG and CDS Hooks examples (../shared/fhir-examples,
tests/data) with random mutations, and Observations carrying the genomic LOINC codes the reader
looks for with random values around them. Derandomized and bounded, so CI is repeatable.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_adapters import draft_medications, identify_drug, iter_resources, read_genotypes
from fhir_adapters.comedication import active_comedications
from fhir_adapters.patient_factors import read_patient_factors
from fhir_adapters.reports import report_links
from knowledge import KnowledgeBase
from tests.conftest import DATA, SHARED
from tests.properties import examples

PROPERTY = settings(
    max_examples=examples(60),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TODAY = datetime.date(2026, 1, 15)


def _examples() -> list[Any]:
    """The example FHIR documents, small enough to mutate quickly."""
    files = [
        *sorted((SHARED / "fhir-examples").rglob("*.json")),
        *sorted(DATA.rglob("*.json")),
    ]
    return [json.loads(p.read_text()) for p in files if p.stat().st_size < 100_000]


EXAMPLES = _examples()

# -- strategies ------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    # json.loads accepts NaN and Infinity, so a client can send them.
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
# Codes and texts the readers branch on, so random documents reach the interesting paths.
CODES = [
    "84413-4",
    "84414-2",
    "363779003",
    "53040-2",
    "51961-1",
    "83009-1",
    "79716-7",
    "therapeutic-implication",
    "predicted-therapeutic-implication",
    "effect-transporter-function",
    "57979-7",
    "48018-6",
    "51969-4",
    "29463-7",
    "8302-2",
    "62238-1",
    "82810-3",
    "32968",
    "genotype",
]
SYSTEMS = [
    "http://loinc.org",
    "http://www.genenames.org",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://snomed.info/sct",
    "http://glstring.org",
    "http://unitsofmeasure.org",
]
TEXTS = [
    "*1/*2",
    "*2/*2",
    "CYP2C19 *2/*17",
    "CYP2D6 *1/*4x2",
    "HLA-B*57:01",
    "HLA-B*15:02/HLA-B*58:01",
    "rs9923231 C/T",
    "C/T",
    "Poor metabolizer",
    "present",
    "negative",
    "*1/*1|*1/*2",
    "B (reference)/Mediterranean",
    "UGT1A1*80+*28/*1",
    "c.1905+1G>A (*2A)/*1",
    "HGNC:2621",
    "CYP2C19",
    "clopidogrel",
    "Observation/1",
    "#geno",
    "urn:uuid:0",
    "",
]
TEXT = st.sampled_from(TEXTS) | st.text(max_size=15)
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from(SYSTEMS) | TEXT,
        "code": st.sampled_from(CODES) | TEXT,
        "display": TEXT,
    },
)
CONCEPT = st.fixed_dictionaries(
    {}, optional={"coding": st.lists(CODING | JSON, max_size=3) | JSON, "text": TEXT | JSON}
)
VALUES = st.fixed_dictionaries(
    {},
    optional={
        "valueCodeableConcept": CONCEPT | JSON,
        "valueString": TEXT | JSON,
        "valueQuantity": st.fixed_dictionaries(
            {}, optional={"value": SCALARS, "unit": TEXT, "code": TEXT}
        )
        | JSON,
        "valueBoolean": SCALARS,
    },
)
RESOURCE_TYPES = st.sampled_from(
    [
        "Observation",
        "Bundle",
        "Patient",
        "MedicationRequest",
        "MedicationStatement",
        "Medication",
        "DiagnosticReport",
        "Parameters",
        "OperationOutcome",
    ]
)


@st.composite
def observations(draw: st.DrawFn) -> dict[str, Any]:
    """A genomic-looking resource: the codes the reader looks for, the rest random."""
    resource: dict[str, Any] = {
        "resourceType": draw(RESOURCE_TYPES),
        "id": draw(TEXT),
        "code": draw(CONCEPT),
        **draw(VALUES),
    }
    resource.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "status": st.sampled_from(["final", "amended", "entered-in-error", "draft"])
                    | JSON,
                    "component": st.lists(
                        st.fixed_dictionaries({"code": CONCEPT}).flatmap(
                            lambda part: VALUES.map(lambda v: {**part, **v})
                        )
                        | JSON,
                        max_size=4,
                    )
                    | JSON,
                    "derivedFrom": st.lists(
                        st.fixed_dictionaries({"reference": TEXT | JSON}), max_size=2
                    )
                    | JSON,
                    "effectiveDateTime": st.sampled_from(["2024-05-14", "2024", "2024-13-45", ""])
                    | JSON,
                    "contained": st.lists(JSON, max_size=2),
                    "medicationCodeableConcept": CONCEPT | JSON,
                    "medicationReference": st.fixed_dictionaries(
                        {}, optional={"reference": TEXT, "display": TEXT}
                    )
                    | JSON,
                    "birthDate": st.sampled_from(["1970-01-01", "1970", "2999-02-30", ""]) | JSON,
                    "presentedForm": st.lists(
                        st.fixed_dictionaries(
                            {}, optional={"url": TEXT, "contentType": TEXT, "title": TEXT}
                        )
                        | JSON,
                        max_size=2,
                    )
                    | JSON,
                    "parameter": st.lists(JSON, max_size=3),
                },
            )
        )
    )
    return resource


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    """A real example with a few values replaced, dropped or swapped for another type."""
    document = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    places = list(_places(document))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "drop", "genomic"]))
        if action == "drop" and isinstance(container, dict):
            container.pop(key, None)
        elif key in container if isinstance(container, dict) else key < len(container):
            container[key] = draw(JSON if action == "replace" else observations())
    return document


def _places(value: Any) -> Any:
    """Every (container, key) in ``value``, without recursion limits mattering (small docs)."""
    stack = [value]
    while stack:
        current = stack.pop()
        items = (
            current.items()
            if isinstance(current, dict)
            else enumerate(current)
            if isinstance(current, list)
            else ()
        )
        for key, child in items:
            yield current, key
            stack.append(child)


def bundles(entries: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(st.fixed_dictionaries({"resource": entries}) | entries, max_size=5).map(
        lambda entry: {"resourceType": "Bundle", "entry": entry}
    )


ANY_FHIR = JSON | observations() | mutated_examples() | bundles(observations() | JSON)

# -- properties ------------------------------------------------------------------------------


@PROPERTY
@given(value=ANY_FHIR)
def test_iter_resources_yields_mappings_only(value: Any) -> None:
    assert all(isinstance(r, dict) for r in iter_resources(value))


@PROPERTY
@given(values=st.lists(ANY_FHIR, max_size=3))
def test_read_genotypes_never_raises(kb: KnowledgeBase, values: list[Any]) -> None:
    resources = [r for value in values for r in iter_resources(value)]

    readout = read_genotypes([*resources, *values], kb.genes_by_hgnc, kb=kb)

    assert all(isinstance(gene, str) for gene in readout.results)


@PROPERTY
@given(
    orders=bundles(observations() | JSON) | mutated_examples(),
    selections=st.none() | st.lists(TEXT),
)
def test_draft_medications_never_raises(
    kb: KnowledgeBase, orders: Any, selections: list[str] | None
) -> None:
    if isinstance(orders, dict):
        draft_medications(orders, kb, selections)


@PROPERTY
@given(values=st.lists(ANY_FHIR, max_size=3))
def test_read_patient_factors_never_raises(values: list[Any]) -> None:
    read_patient_factors(values, TODAY)


@PROPERTY
@given(values=st.lists(ANY_FHIR, max_size=3))
def test_active_comedications_never_raises(kb: KnowledgeBase, values: list[Any]) -> None:
    active_comedications(values, functools.partial(identify_drug, kb=kb), today=TODAY)


@PROPERTY
@given(
    values=st.lists(ANY_FHIR, max_size=3) | ANY_FHIR,
    fhir_server=st.sampled_from([None, "https://ehr.example/fhir", "ftp://x", "", "http://[::1"]),
)
def test_report_links_never_raises(values: Any, fhir_server: str | None) -> None:
    for link in report_links(values, fhir_server):
        assert link.url.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "reader",
    [
        pytest.param(lambda v, kb: list(iter_resources(v)), id="iter_resources"),
        pytest.param(lambda v, kb: read_genotypes([v], kb.genes_by_hgnc, kb=kb), id="genotypes"),
        pytest.param(lambda v, kb: read_patient_factors([v], TODAY), id="patient_factors"),
        pytest.param(lambda v, kb: report_links([v], None), id="report_links"),
    ],
)
def test_bundles_nested_as_deep_as_a_request_can_carry_are_read(
    kb: KnowledgeBase, reader: Callable[[Any, KnowledgeBase], Any]
) -> None:
    # json.loads stops near 1000 levels; a Bundle level is three of them (entry, [ ], resource).
    value: Any = {"resourceType": "Observation", "code": {"coding": [{"code": "84413-4"}]}}
    for _ in range(320):
        value = {"resourceType": "Bundle", "entry": [{"resource": value}]}

    reader(value, kb)


def test_the_examples_were_found() -> None:
    assert len(EXAMPLES) > 50
