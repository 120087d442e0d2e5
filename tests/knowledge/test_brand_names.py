"""read_brand_names: brands of single-ingredient drugs from PharmCAT's Drugs@FDA citations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.brand_names import REPORTS, brand_of, read_brand_names


@pytest.fixture(scope="module")
def brands(shared: Path) -> dict[str, list[str]]:
    return read_brand_names(shared)


@pytest.mark.parametrize(
    ("drug", "expected"),
    [
        ("clopidogrel", ["Plavix"]),
        ("warfarin", ["COUMADIN"]),
        ("celecoxib", ["CELEBREX", "ELYXYB"]),
        ("irinotecan", ["Camptosar", "Onivyde"]),
        ("oxcarbazepine", ["Oxtellar XR"]),
        ("iloperidone", ["FANAPT"]),
        ("bupivacaine", ["Marcaine Spinal"]),
        ("phenytoin", ["DILANTIN"]),
        ("plazomicin", ["Zemdri"]),
        ("seladelpar", ["Livdelzi"]),
        ("fluorouracil", ["Carac"]),
        ("aripiprazole", ["ABILIFY", "Abilify Asimtufii", "ABILIFY MAINTENA"]),
        ("aripiprazole lauroxil", ["ARISTADA", "ARISTADA INITIO"]),
    ],
    ids=[
        "salt-in-parentheses",
        "sodium-salt",
        "dash-and-generic-after-the-brand",
        "two-brands",
        "case-variants-are-one-brand",
        "same-brand-twice",
        "salt-in-a-vehicle",
        "colon-after-drug-product",
        "second-parenthesis-ignored",
        "lysine-salt",
        "generic-spelling-dropped",
        "sorted-ignoring-case",
        "ester-is-its-own-drug",
    ],
)
def test_brands_read_from_the_reports(
    brands: dict[str, list[str]], drug: str, expected: list[str]
) -> None:
    assert brands[drug] == expected


@pytest.mark.parametrize(
    "drug",
    [
        "fluoxetine / olanzapine",
        "dextromethorphan / quinidine",
        "lidocaine and tetracaine",
        "moviprep",
        "sodium ascorbate",
        "ascorbic acid (vitamin c), plain",
        "chloroquine",
        "sacituzumab govitecan",
        "codeine",
        "hydralazine",
        "tolbutamide",
        "gentamicin",
        "flurbiprofen",
    ],
    ids=[
        "combination-key",
        "combination-key-with-salts",
        "combination-key-with-and",
        "brand-as-key",
        "other-ingredient",
        "group-name",
        "application-number-in-parentheses",
        "no-parentheses",
        "generic-name-with-salt",
        "generic-name-with-salt-2",
        "generic-name",
        "generic-name-in-a-vehicle",
        "generic-names-only",
    ],
)
def test_no_brand_for(brands: dict[str, list[str]], drug: str) -> None:
    assert drug not in brands


def test_a_combination_product_is_not_a_brand_of_one_ingredient(
    brands: dict[str, list[str]],
) -> None:
    # Symbyax (olanzapine and fluoxetine) and Auvelity are cited, but only under combination keys.
    assert brands["fluoxetine"] == ["Prozac Weekly"]
    assert all("Symbyax" not in names and "AUVELITY" not in names for names in brands.values())


def test_every_brand_list_is_sorted_unique_and_non_empty(brands: dict[str, list[str]]) -> None:
    for names in brands.values():
        assert names
        assert names == sorted(set(names), key=lambda b: (b.casefold(), b))
        assert len({n.casefold() for n in names}) == len(names)


def test_every_brand_comes_from_a_citation_of_that_drug(
    shared: Path, brands: dict[str, list[str]]
) -> None:
    cited: dict[str, str] = {}
    for report in REPORTS:
        data = json.loads((shared / report).read_text(encoding="utf-8"))
        for by_drug in data["drugs"].values():
            for drug, annotation in by_drug.items():
                for citation in annotation.get("citations") or []:
                    title = (citation.get("title") or "").casefold().replace("product:", "product")
                    cited[drug] = cited.get(drug, "") + title + "\n"
    for drug, names in brands.items():
        for name in names:
            assert f"drug product {name.casefold()}" in cited[drug], (drug, name)


@pytest.mark.parametrize(
    ("drug", "title", "expected"),
    [
        (
            "clopidogrel",
            "Drugs@FDA: Drug Product Plavix (clopidogrel bisulfate), NDA020839, Rebel Distributors",
            "Plavix",
        ),
        ("clopidogrel", "Drugs@FDA: Drug Product Plavix (clopidogrel), sanofi", "Plavix"),
        ("Clopidogrel ", "Drugs@FDA: Drug Product  Plavix  (clopidogrel)", "Plavix"),
        (
            "phenytoin",
            "Drugs@FDA Drug Product: DILANTIN (phenytoin), NDA008762, Upjohn",
            "DILANTIN",
        ),
        ("clopidogrel", "Drugs@FDA: Drug Product Plavix (prasugrel), NDA0", None),
        ("clopidogrel", "Drugs@FDA: Drug Product Plavix (clopidogrelate), NDA0", None),
        ("aripiprazole", "Drugs@FDA: Drug Product ARISTADA (aripiprazole lauroxil), NDA2", None),
        ("clopidogrel", "Drugs@FDA: Drug Product Duo (clopidogrel and aspirin), NDA0", None),
        ("clopidogrel", "Drugs@FDA: Drug Product Duo (clopidogrel, aspirin), NDA0", None),
        ("clopidogrel", "Drugs@FDA: Drug Product Duo (clopidogrel / aspirin), NDA0", None),
        ("clopidogrel / aspirin", "Drugs@FDA: Drug Product Duo (clopidogrel / aspirin)", None),
        ("clopidogrel", "Drugs@FDA: Drug Product clopidogrel (NDA020839)", None),
        ("clopidogrel", "Drugs@FDA: Drug Product Clopidogrel Bisulfate (clopidogrel)", None),
        ("clopidogrel", "Drugs@FDA: Drug Product  clopidogrel NDA 020839", None),
        ("clopidogrel", "DailyMed: Drug Product Plavix (clopidogrel)", None),
        ("clopidogrel", "Plavix (clopidogrel) label", None),
        ("", "Drugs@FDA: Drug Product Plavix (clopidogrel)", None),
    ],
    ids=[
        "salt",
        "base",
        "spaces",
        "colon-after-product",
        "other-drug",
        "longer-word",
        "ester",
        "combination-and",
        "combination-comma",
        "combination-slash",
        "combination-drug",
        "application-number",
        "generic-as-brand",
        "no-parentheses",
        "not-drugs-at-fda",
        "not-a-citation",
        "no-drug",
    ],
)
def test_brand_of(drug: str, title: str, expected: str | None) -> None:
    assert brand_of(drug, title) == expected
