"""Pre-test cards say no result is on file and offer the test; sites choose which fire and how loudly."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

# fhir.resources has no R4 (4.0.1) models any more; R4B (4.3) is the closest set and differs from
# R4 in nothing a ServiceRequest uses here.
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks.cards import KNOWLEDGE_VERSION, NON_ADHERENCE
from cds_hooks.pretest_card import pretest_card
from cds_hooks.site_config import (
    CodeableConcept,
    Coding,
    SiteConfig,
    SiteConfigError,
    check_against,
    indicator_for,
    load_site_config,
    orderable_for,
)
from knowledge.schema import PretestRequirement, PretestTable
from knowledge.validation import validate_document
from knowledge.yaml_source import parse_yaml

PRETEST = Path(__file__).resolve().parents[2] / "knowledge" / "pretest.yaml"


def _pretest_table() -> PretestTable:
    document, _ = parse_yaml(PRETEST.read_text(encoding="utf-8"), str(PRETEST))
    assert document is not None
    table, errors = validate_document(PretestTable, document)
    assert table is not None, [str(e) for e in errors]
    return table


TABLE = _pretest_table()


def _card(drug: str = "abacavir", **overrides: Any) -> dict[str, Any]:
    requirement = TABLE.drugs[drug]
    fields: dict[str, Any] = {
        "drug": drug,
        "order_reference": "MedicationRequest/rx-1",
        "requirement": requirement,
        "missing_genes": requirement.genes,
        "indicator": "warning",
        "orderable": orderable_for(SiteConfig(), requirement),
        "patient_id": "pt-9",
        "kb_version": "kb-test",
        "hook_instance": "hook-1",
    }
    fields.update(overrides)
    return pretest_card(**fields)


def _create(card: dict[str, Any]) -> dict[str, Any]:
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "create"
    resource: dict[str, Any] = action["resource"]
    return resource


def _site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the card ------------------------------------------------------------------------------------


def test_abacavir_card_says_no_result_and_that_the_label_requires_the_test() -> None:
    card = _card()

    assert card["summary"] == (
        "Abacavir: no HLA-B*57:01 result on file. FDA label requires testing before use"
    )
    assert card["indicator"] == "warning"
    assert "Screen" not in card["summary"]
    assert "HLA-B*5701 allele prior to initiating therapy" in card["detail"]
    assert card["source"] == {
        "label": TABLE.drugs["abacavir"].source,
        "url": "https://www.ncbi.nlm.nih.gov/books/NBK315783/",
    }
    assert card["extension"] == {KNOWLEDGE_VERSION: "kb-test"}
    assert card["selectionBehavior"] == "at-most-one"


def test_suggestion_orders_the_test_as_a_draft_service_request_for_the_patient() -> None:
    card = _card()
    (suggestion,) = card["suggestions"]
    resource = _create(card)

    assert suggestion["label"] == "Order HLA-B*57:01 genotyping"
    request = ServiceRequest.model_validate(resource)
    assert (request.status, request.intent) == ("draft", "order")
    assert request.subject.reference == "Patient/pt-9"
    assert resource["code"] == {"text": "HLA-B*57:01 genotyping"}
    assert "abacavir" in resource["reasonCode"][0]["text"]
    assert "abacavir" in resource["note"][0]["text"]


@pytest.mark.parametrize("drug", sorted(TABLE.drugs))
def test_every_pretest_drug_gets_a_short_summary_and_a_valid_service_request(drug: str) -> None:
    card = _card(drug)

    assert len(card["summary"]) < 140
    assert card["summary"].startswith(f"{drug.capitalize()}: no {TABLE.drugs[drug].test} result")
    ServiceRequest.model_validate(_create(card))


@pytest.mark.parametrize(
    ("drug", "verb"),
    [
        ("carbamazepine", "requires"),
        ("oxcarbazepine", "recommends"),
        ("capecitabine", "recommends"),
    ],
)
def test_summary_follows_the_label_level(drug: str, verb: str) -> None:
    assert f"FDA label {verb} testing before use" in _card(drug)["summary"]


def test_a_site_code_goes_into_the_service_request() -> None:
    orderable = CodeableConcept(
        coding=[Coding(system="http://lab.example.org/codes", code="B5701", display="HLA-B*57:01")],
        text="HLA-B*57:01 genotyping",
    )
    resource = _create(_card(orderable=orderable))

    assert resource["code"] == {
        "coding": [
            {"system": "http://lab.example.org/codes", "code": "B5701", "display": "HLA-B*57:01"}
        ],
        "text": "HLA-B*57:01 genotyping",
    }
    ServiceRequest.model_validate(resource)


def test_override_reasons_carry_a_display() -> None:
    reasons = _card()["overrideReasons"]

    assert reasons
    assert all(r["system"] == NON_ADHERENCE and r["display"] for r in reasons)


def test_uuid_is_stable_for_the_same_call_and_differs_between_calls() -> None:
    assert _card()["uuid"] == _card()["uuid"]
    assert _card()["uuid"] != _card(hook_instance="hook-2")["uuid"]
    assert _card()["uuid"] != _card(order_reference="MedicationRequest/rx-2")["uuid"]
    assert _card()["suggestions"][0]["uuid"] != _card()["uuid"]


def test_a_card_needs_a_missing_gene() -> None:
    with pytest.raises(ValueError, match="at least one gene"):
        _card(missing_genes=[])


def test_an_overlong_summary_is_cut_below_140() -> None:
    requirement = TABLE.drugs["abacavir"].model_copy(update={"test": "X" * 200})

    summary = _card(requirement=requirement)["summary"]

    assert len(summary) < 140
    assert summary.endswith("...")


# --- site configuration --------------------------------------------------------------------------


def test_bundled_defaults_equal_the_model_defaults() -> None:
    # model_dump: the loaded config also remembers its YAML positions, which defaults lack.
    assert load_site_config(None).model_dump() == SiteConfig().model_dump()


@pytest.mark.parametrize(
    ("drug", "expected"),
    [("abacavir", "warning"), ("siponimod", "warning"), ("oxcarbazepine", "info")],
)
def test_default_loudness_follows_the_label_level(drug: str, expected: str) -> None:
    assert indicator_for(load_site_config(None), drug, TABLE.drugs[drug]) == expected


def test_site_overrides_win_and_off_turns_an_alert_off(tmp_path: Path) -> None:
    site = load_site_config(
        _site(
            tmp_path,
            """\
            pretest:
              levels:
                testing recommended: warning
              drugs:
                abacavir: critical
                oxcarbazepine: off
            """,
        )
    )
    check_against(site, TABLE)

    assert indicator_for(site, "abacavir", TABLE.drugs["abacavir"]) == "critical"
    assert indicator_for(site, "oxcarbazepine", TABLE.drugs["oxcarbazepine"]) is None
    assert indicator_for(site, "allopurinol", TABLE.drugs["allopurinol"]) == "warning"
    # Levels the file leaves out keep their default.
    assert indicator_for(site, "carbamazepine", TABLE.drugs["carbamazepine"]) == "warning"


def test_off_for_a_whole_level(tmp_path: Path) -> None:
    site = load_site_config(_site(tmp_path, "pretest:\n  levels:\n    testing recommended: off\n"))

    assert indicator_for(site, "capecitabine", TABLE.drugs["capecitabine"]) is None


def test_an_empty_file_keeps_every_default(tmp_path: Path) -> None:
    assert load_site_config(_site(tmp_path, "")).model_dump() == SiteConfig().model_dump()


@pytest.mark.parametrize(
    ("key", "expected"),
    [("HLA-B*57:01", "site 5701"), ("HLA-B", "site HLA-B"), ("G6PD", "G6PD genotyping")],
)
def test_orderable_by_test_then_gene_then_text_only(
    tmp_path: Path, key: str, expected: str
) -> None:
    site = load_site_config(
        _site(
            tmp_path,
            """\
            pretest:
              orderables:
                HLA-B*57:01:
                  coding:
                    - {system: "http://lab.example.org/codes", code: "B5701"}
                  text: site 5701
                HLA-B: {text: site HLA-B}
            """,
        )
    )
    check_against(site, TABLE)
    drug = {"HLA-B*57:01": "abacavir", "HLA-B": "carbamazepine", "G6PD": "rasburicase"}[key]

    assert orderable_for(site, TABLE.drugs[drug]).text == expected


def _errors(path: Path) -> list[str]:
    with pytest.raises(SiteConfigError) as info:
        load_site_config(path)
    return [str(error) for error in info.value.errors]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pretest:\n  drugs:\n    abacavir: loud\n",
            "site.yaml:3:15: pretest.drugs.abacavir: 'loud' is not one of info, warning, "
            "critical, off. Use one of those words.",
        ),
        (
            "pretest:\n  levels:\n    testing mandatory: warning\n",
            "site.yaml:3:5: pretest.levels.testing mandatory: is not a known field. Remove it, "
            "or check its spelling against cds_hooks/site_defaults.yaml.",
        ),
        (
            "pretest:\n  drugs:\n    abacavir: info\n    abacavir: off\n",
            "site.yaml:4:5: pretest.drugs.abacavir: duplicate key 'abacavir'. "
            "Keep one of the two entries and delete the other.",
        ),
        (
            "pretest:\n  orderables:\n    DPYD:\n      coding: []\n",
            "site.yaml:4:7: pretest.orderables.DPYD.text: missing. Add this field.",
        ),
        (
            "pretest: [\n",
            "site.yaml:2:1: not valid YAML",
        ),
    ],
    ids=["bad-indicator", "unknown-level", "duplicate-drug", "orderable-without-text", "syntax"],
)
def test_errors_name_file_line_and_column_and_the_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    (error,) = _errors(_site(tmp_path, text))

    assert error.removeprefix(str(tmp_path) + "/").startswith(expected)


def test_every_error_of_the_file_is_reported_at_once(tmp_path: Path) -> None:
    errors = _errors(
        _site(tmp_path, "pretest:\n  drugs:\n    abacavir: loud\n  level: {}\nsite: x\n")
    )

    assert len(errors) == 3


def test_a_missing_file_is_a_site_config_error(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path / "absent.yaml")

    assert "absent.yaml: cannot be read" in error
    assert "PGX_CDS_SITE_CONFIG" in error


def test_unknown_drug_and_test_names_are_refused_against_the_pretest_table(tmp_path: Path) -> None:
    site = load_site_config(
        _site(
            tmp_path,
            """\
            pretest:
              drugs:
                abacavire: critical
                clopidogrel: off
              orderables:
                HLA-B*57:01: {text: ok}
                HLA-B*5701: {text: misspelt}
            """,
        )
    )

    with pytest.raises(SiteConfigError) as info:
        check_against(site, TABLE)

    errors = [str(e).removeprefix(str(tmp_path) + "/") for e in info.value.errors]
    assert errors == [
        "site.yaml:3:5: pretest.drugs.abacavire: 'abacavire' is not a drug of "
        "knowledge/pretest.yaml. Use a drug name from knowledge/pretest.yaml "
        "(did you mean 'abacavir'?), or remove the entry.",
        "site.yaml:4:5: pretest.drugs.clopidogrel: 'clopidogrel' is not a drug of "
        "knowledge/pretest.yaml. Use a drug name from knowledge/pretest.yaml, or remove the entry.",
        "site.yaml:7:5: pretest.orderables.HLA-B*5701: 'HLA-B*5701' is not a test or gene of "
        "knowledge/pretest.yaml. Use a test or gene name from knowledge/pretest.yaml "
        "(did you mean 'HLA-B*57:01'?), or remove the entry.",
    ]
    assert str(info.value).startswith("3 errors in the site configuration:")


def test_check_against_accepts_a_plain_mapping_of_requirements() -> None:
    drugs: dict[str, PretestRequirement] = dict(TABLE.drugs)
    site = SiteConfig.model_validate({"pretest": {"drugs": {"abacavir": "off"}}})

    check_against(site, drugs)
    with pytest.raises(SiteConfigError, match="'abacavir' is not a drug"):
        check_against(site, {})
