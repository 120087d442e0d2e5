"""The printable report: gene table, drugs affected, ambiguity, escaping and a self-contained page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from fhir_adapters.vcf.calls import SampleCalls, SampleGeneCall
from fhir_adapters.vcf.report import render_report
from knowledge import KnowledgeBase

GENERATED = "2025-01-31T10:00:00Z"
CONFIRM = "confirm by phased or targeted testing"


def called(
    gene: str,
    diplotype: str,
    phenotype: str | None,
    score: str | None = None,
    *,
    phased: bool = False,
    missing_positions: tuple[str, ...] = (),
    uncallable_alleles: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
) -> SampleGeneCall:
    return SampleGeneCall(
        gene,
        None,
        "vcf",
        diplotypes=(diplotype,),
        phenotypes=(phenotype,),
        activity_scores=(score,),
        phased=phased,
        missing_positions=missing_positions,
        uncallable_alleles=uncallable_alleles,
        notes=notes,
    )


def ambiguous(gene: str, *readings: tuple[str, str, str | None]) -> SampleGeneCall:
    """Equally likely ``(diplotype, phenotype, activity score)`` readings."""
    return SampleGeneCall(
        gene,
        None,
        "outside call",
        diplotypes=tuple(d for d, _, _ in readings),
        phenotypes=tuple(p for _, p, _ in readings),
        activity_scores=tuple(s for _, _, s in readings),
    )


def unphased_variants(
    gene: str, variants: tuple[str, ...], basis: str, phenotype: str, score: str
) -> SampleGeneCall:
    return SampleGeneCall(
        gene,
        None,
        "vcf",
        phenotypes=(phenotype,),
        activity_scores=(score,),
        variants=variants,
        phenotype_basis=basis,
    )


def not_called(gene: str, missing: tuple[str, ...]) -> SampleGeneCall:
    return SampleGeneCall(gene, None, "vcf", missing_positions=missing)


def sample(*genes: SampleGeneCall) -> SampleCalls:
    return SampleCalls(
        sample="NA12878",
        input_name="NA12878.pgx.vcf.gz",
        input_sha256="0" * 64,
        genes=genes,
        definitions_version="PharmCAT 5431bf1",
    )


PATIENT = sample(
    called("CYP2C19", "*2/*2", "Poor Metabolizer", phased=True),
    called("CYP2C9", "*1/*3", "Intermediate Metabolizer", "1.0", phased=True),
    called(
        "SLCO1B1",
        "*5/*5",
        "Poor Function",
        missing_positions=("rs4149015", "rs2306283"),
        uncallable_alleles=("*14",),
    ),
    unphased_variants(
        "DPYD",
        ("c.1905+1G>A (*2A)",),
        basis="Reference/c.1905+1G>A (*2A)",
        phenotype="Intermediate Metabolizer",
        score="1.0",
    ),
    ambiguous(
        "CYP2D6",
        ("*1/*4", "Intermediate Metabolizer", "1.0"),
        ("*4/*4", "Poor Metabolizer", "0.0"),
    ),
    called("CYP3A5", "*3/*3", "Poor Metabolizer", phased=True),
    not_called("UGT1A1", missing=("rs887829", "rs3064744")),
)


def parse(page: str) -> ET.Element:
    """The page is well-formed XHTML, so the stdlib XML parser reads it whole."""
    return ET.fromstring(page.removeprefix("<!DOCTYPE html>"))


def text(element: ET.Element) -> str:
    """Visible text, whitespace squashed; paragraphs of one cell are separated by a space."""
    return " ".join(" ".join(element.itertext()).split())


def table(page: ET.Element, table_id: str) -> list[dict[str, str]]:
    """Each body row as {column header: cell text}; none when the table is left out."""
    found = page.find(f".//table[@id='{table_id}']")
    if found is None:
        return []
    headers = [text(th) for th in found.iterfind("thead/tr/th")]
    return [dict(zip(headers, map(text, row), strict=True)) for row in found.iterfind("tbody/tr")]


def row_for(rows: list[dict[str, str]], column: str, value: str) -> dict[str, str]:
    matches = [row for row in rows if row[column] == value]
    assert len(matches) == 1, f"{len(matches)} rows with {column} {value!r}"
    return matches[0]


@pytest.fixture(scope="module")
def html(kb: KnowledgeBase) -> str:
    return render_report(PATIENT, "Patient/pgx-1", kb, generated=GENERATED)


@pytest.fixture(scope="module")
def page(html: str) -> ET.Element:
    return parse(html)


@pytest.mark.parametrize(
    ("gene", "diplotype", "phenotype", "activity_score"),
    [
        ("CYP2C19", "*2/*2", "Poor Metabolizer", "—"),
        ("CYP2C9", "*1/*3", "Intermediate Metabolizer", "1.0"),
        ("SLCO1B1", "*5/*5", "Poor Function", "—"),
        ("DPYD", "c.1905+1G>A (*2A)", "Intermediate Metabolizer", "1.0"),
        (
            "CYP2D6",
            "*1/*4 *4/*4 ambiguous (2 equally likely)",
            "indeterminate: Intermediate Metabolizer or Poor Metabolizer",
            "1.0 or 0.0",
        ),
        ("UGT1A1", "not called", "indeterminate: not called", "—"),
    ],
)
def test_gene_table_row(
    page: ET.Element, gene: str, diplotype: str, phenotype: str, activity_score: str
) -> None:
    row = row_for(table(page, "genes"), "Gene", gene)
    assert (row["Diplotype"], row["Phenotype"], row["Activity score"]) == (
        diplotype,
        phenotype,
        activity_score,
    )


@pytest.mark.parametrize(
    ("gene", "column", "expected"),
    [
        ("SLCO1B1", "Missing / uncallable", "2 missing: rs4149015, rs2306283 not callable: *14"),
        ("SLCO1B1", "Phased", "unphased"),
        ("CYP2C19", "Phased", "phased"),
        ("CYP2D6", "Source", "outside call"),
        ("CYP2C19", "Source", "VCF"),
        (
            "DPYD",
            "Notes",
            "phenotype from the two lowest-function variants: Reference/c.1905+1G>A (*2A)",
        ),
        ("CYP2D6", "Notes", f"Readings differ: no drug advice from CYP2D6; {CONFIRM}."),
    ],
)
def test_gene_table_caveats(page: ET.Element, gene: str, column: str, expected: str) -> None:
    assert row_for(table(page, "genes"), "Gene", gene)[column] == expected


def test_clopidogrel_carries_cpic_advice_and_strength(page: ET.Element, kb: KnowledgeBase) -> None:
    row = row_for(table(page, "drugs"), "Drug", "clopidogrel")
    assert row["Urgency"] == "Warning"
    assert row["Gene and phenotype"] == "CYP2C19 *2/*2 → Poor Metabolizer"
    assert (
        "ACS and/or PCI: Avoid clopidogrel if possible. Use prasugrel or ticagrelor"
        in row["Recommendation and strength"]
    )
    assert "(strength: strong)" in row["Recommendation and strength"]
    assert row["Source"].startswith("CPIC Guideline for CYP2C19 Genotype and Clopidogrel")
    links = [a.get("href") for a in page.iterfind(".//table[@id='drugs']//a")]
    assert kb.guidelines["cpic-clopidogrel"].url in links


@pytest.mark.parametrize(
    ("drug", "why"),
    [
        ("tacrolimus", "CYP3A5 *3/*3 gets the standard dose"),
        ("atazanavir", "UGT1A1 was not called"),
        ("codeine", "CYP2D6 is ambiguous"),
        ("metoprolol", "CYP2D6 is ambiguous (DPWG)"),
    ],
)
def test_drug_not_listed(page: ET.Element, drug: str, why: str) -> None:
    assert drug not in {row["Drug"] for row in table(page, "drugs")}, why


def test_ambiguous_gene_asks_for_confirmation(page: ET.Element) -> None:
    box = page.find(".//*[@id='confirm']")
    assert box is not None
    message = text(box)
    assert "CYP2D6 (*1/*4 (Intermediate Metabolizer) or *4/*4 (Poor Metabolizer))" in message
    assert CONFIRM in message
    assert re.search(r"\bcodeine\b", message)


def test_a_guideline_reading_an_ambiguous_gene_says_it_was_not_used(page: ET.Element) -> None:
    row = row_for(table(page, "drugs"), "Drug", "amitriptyline")
    assert row["Gene and phenotype"] == "CYP2C19 *2/*2 → Poor Metabolizer"
    assert f"CYP2D6 not used (ambiguous result): {CONFIRM}." in row["Recommendation and strength"]


def test_drugs_sorted_by_urgency_then_name(page: ET.Element) -> None:
    rank = {"Critical": 0, "Warning": 1, "Info": 2}
    keys = [(rank[row["Urgency"]], row["Drug"]) for row in table(page, "drugs")]
    assert keys == sorted(keys)
    assert {"Warning", "Info"} <= {row["Urgency"] for row in table(page, "drugs")}


@pytest.mark.parametrize(
    ("readings", "listed"),
    [
        pytest.param(
            (
                ("*1/*3", "Intermediate Metabolizer", "1.0"),
                ("*1/*6", "Intermediate Metabolizer", "1.0"),
            ),
            True,
            id="same activity score: acted on",
        ),
        pytest.param(
            (
                ("*1/*2", "Intermediate Metabolizer", "1.5"),
                ("*1/*3", "Intermediate Metabolizer", "1.0"),
            ),
            False,
            id="same phenotype, scores differ: not acted on",
        ),
    ],
)
def test_ambiguous_activity_gene_is_used_only_when_the_score_agrees(
    kb: KnowledgeBase, readings: tuple[tuple[str, str, str | None], ...], listed: bool
) -> None:
    page = parse(
        render_report(sample(ambiguous("CYP2C9", *readings)), "p", kb, generated=GENERATED)
    )
    assert ("celecoxib" in {row["Drug"] for row in table(page, "drugs")}) is listed
    assert (page.find(".//*[@id='confirm']") is None) is listed


def test_header_and_footer(page: ET.Element, kb: KnowledgeBase) -> None:
    header = page.find(".//header")
    footer = page.find(".//footer")
    assert header is not None
    assert footer is not None
    meta = dict(
        zip(map(text, header.iterfind(".//dt")), map(text, header.iterfind(".//dd")), strict=True)
    )
    assert meta["Patient"] == "Patient/pgx-1"
    assert meta["Sample"] == "NA12878"
    assert meta["Input file"].startswith("NA12878.pgx.vcf.gz")
    assert meta["Generated"] == GENERATED
    assert meta["Allele definitions"] == "PharmCAT 5431bf1"
    assert meta["Knowledge version"] == kb.version
    notice = text(footer)
    for words in (
        "Not a substitute for clinical judgement",
        "CC0 1.0",
        "check cpicpgx.org for the most current content",
        "Mozilla Public License 2.0",
        f"Knowledge version {kb.version}",
    ):
        assert words in notice


def test_page_is_self_contained_and_printable(page: ET.Element) -> None:
    assert not [e.tag for e in page.iter() if e.tag in {"script", "link", "img", "iframe"}]
    assert not [e.tag for e in page.iter() if "src" in e.attrib]
    links = [(e.tag, e.get("href", "")) for e in page.iter() if "href" in e.attrib]
    assert links
    assert all(tag == "a" and re.match(r"https?://", href) for tag, href in links)
    style = "".join(text(s) for s in page.iter("style"))
    assert "@media print" in style
    assert "url(" not in style
    assert "@import" not in style


def test_tables_are_labelled(page: ET.Element) -> None:
    for found in page.iter("table"):
        assert found.find("caption") is not None
        assert {th.get("scope") for th in found.iterfind("thead/tr/th")} == {"col"}
        assert {th.get("scope") for th in found.iterfind("tbody/tr/th")} == {"row"}


def _with_clopidogrel_text(kb: KnowledgeBase, text: str, url: str | None = None) -> KnowledgeBase:
    """A one-guideline knowledge base whose clopidogrel recommendations all read ``text``."""
    guideline = kb.guidelines["cpic-clopidogrel"]
    patched = guideline.model_copy(
        update={
            "url": url or guideline.url,
            "recommendations": [
                r.model_copy(update={"recommendation": text}) for r in guideline.recommendations
            ],
        }
    )
    return KnowledgeBase(
        genes={"CYP2C19": kb.genes["CYP2C19"]},
        drugs={"clopidogrel": kb.drugs["clopidogrel"]},
        guidelines={"cpic-clopidogrel": patched},
        version="test",
    )


POOR_METABOLIZER = sample(called("CYP2C19", "*2/*2", "Poor Metabolizer"))


@pytest.mark.parametrize(
    ("recommendation", "shown"),
    [
        pytest.param(
            '<script>alert("x")</script>Avoid clopidogrel.',
            '<script>alert("x")</script>Avoid clopidogrel.',
            id="script shown as text",
        ),
        pytest.param(
            "<img src=x onerror=alert(1)> Avoid", "<img src=x onerror=alert(1)> Avoid", id="img"
        ),
        pytest.param(
            "<p>Use <b>prasu</b>grel &amp; ticagrelor</p><ul><li>then</li></ul>",
            "Use prasugrel & ticagrelor then",
            id="html formatting dropped",
        ),
        pytest.param(
            "**Avoid** clopidogrel, see [CPIC](https://cpicpgx.org/)",
            "Avoid clopidogrel, see CPIC (https://cpicpgx.org/)",
            id="markdown formatting dropped",
        ),
        pytest.param("If <200 ng/mL, *2/*2", "If <200 ng/mL, *2/*2", id="plain text kept"),
    ],
)
def test_recommendation_text_is_plain_and_escaped(
    kb: KnowledgeBase, recommendation: str, shown: str
) -> None:
    html = render_report(
        POOR_METABOLIZER, "p", _with_clopidogrel_text(kb, recommendation), generated=GENERATED
    )
    page = parse(html)
    row = row_for(table(page, "drugs"), "Drug", "clopidogrel")
    assert f"{shown} (strength: strong)" in row["Recommendation and strength"]
    assert not [e.tag for e in page.iter() if e.tag in {"script", "img", "b"}]
    assert "<script" not in html
    assert "<img" not in html


def test_untrusted_values_are_escaped(kb: KnowledgeBase) -> None:
    calls = SampleCalls(
        sample="<b>S1</b>",
        input_name='x.vcf"><script>alert(1)</script>',
        input_sha256="0" * 64,
        genes=(called("CYP2C19", "*2/*2", "Poor Metabolizer", notes=("<i>odd</i>",)),),
    )
    html = render_report(calls, "<Patient/1>", kb, generated=GENERATED)
    page = parse(html)
    assert "<script" not in html
    assert not list(page.iter("b")) + list(page.iter("i"))
    assert row_for(table(page, "genes"), "Gene", "CYP2C19")["Notes"] == "<i>odd</i>"


def test_a_guideline_url_that_is_not_http_is_not_linked(kb: KnowledgeBase) -> None:
    unsafe = _with_clopidogrel_text(kb, "Avoid clopidogrel.", url="javascript:alert(1)")
    page = parse(render_report(POOR_METABOLIZER, "p", unsafe, generated=GENERATED))
    assert not list(page.iter("a"))
    assert "javascript:alert(1)" not in {e.get("href") for e in page.iter()}


def test_an_outside_call_of_a_phenotype_alone_is_acted_on(kb: KnowledgeBase) -> None:
    score_only = SampleGeneCall(
        "CYP2D6",
        None,
        "outside call",
        phenotypes=("Poor Metabolizer",),
        activity_scores=("0.0",),
    )
    page = parse(render_report(sample(score_only), "p", kb, generated=GENERATED))
    row = row_for(table(page, "genes"), "Gene", "CYP2D6")
    assert (row["Diplotype"], row["Phenotype"]) == ("not given", "Poor Metabolizer")
    assert "codeine" in {row["Drug"] for row in table(page, "drugs")}


def test_a_result_the_guidelines_cannot_read_is_flagged(kb: KnowledgeBase) -> None:
    unreadable = called(
        "MT-RNR1", "1555A>G", "increased risk of aminoglycoside-induced hearing loss"
    )
    page = parse(render_report(sample(unreadable), "p", kb, generated=GENERATED))
    assert row_for(table(page, "genes"), "Gene", "MT-RNR1")["Notes"] == (
        "MT-RNR1 1555A>G is not in the CPIC tables: advice keyed on the MT-RNR1 phenotype was "
        "not applied."
    )
