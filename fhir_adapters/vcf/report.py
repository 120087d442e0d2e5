"""One patient's printable HTML report: the gene calls of a VCF and the drugs whose advice they change."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jinja2 import Environment, StrictUndefined

from knowledge import Evaluation, GeneResult, KnowledgeBase, evaluate
from knowledge.evaluate import URGENCY, call_gene

from .calls import SampleCalls, SampleGeneCall

__all__ = ["render_report"]

# Genes whose unphased calls name variants, not star alleles: the phenotype rests on the two
# lowest-function variants found, which ``phenotype_basis`` spells as a diplotype.
_VARIANT_GENES = frozenset({"DPYD", "RYR1"})
# What vcf2fhir calls itself as the source of a result (see GeneResult.source).
_RESULT_SOURCE = "vcf2fhir"
_CONFIRM = "confirm by phased or targeted testing"
_SHORT_LIST = 4
_URGENCY_LABELS = {"critical": "Critical", "warning": "Warning", "info": "Info"}
# Formatting tags a guideline's HTML may carry are dropped (block ones leave a space). Any other
# tag (<script>, <img>, "<200 ng/mL") stays literal text, which autoescaping shows as such.
_INLINE_TAG = re.compile(
    r"</?(?:a|b|strong|i|em|u|span|sup|sub|small|code)(?:\s[^<>]*)?/?>", re.IGNORECASE
)
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|ul|ol|li|h[1-6])(?:\s[^<>]*)?/?>", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
# Paired emphasis only: single asterisks are star alleles ("*2/*2").
_MARKDOWN_STRONG = re.compile(r"(\*\*|__)(.+?)\1")
_MARKDOWN_CODE = re.compile(r"`([^`\n]+)`")
_HTTP_URL = re.compile(r"^https?://[^\s\"'<>]+$")


@dataclass(frozen=True, slots=True)
class _GeneRow:
    gene: str
    diplotypes: tuple[str, ...]
    ambiguous: bool
    # False when nothing at all was called; a phenotype-only outside call is reported.
    reported: bool
    phenotype: str
    determinate: bool
    activity_score: str
    source: str
    phased: str
    gaps: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Advice:
    population: str | None
    text: str
    strength: str
    actionable: bool


@dataclass(frozen=True, slots=True)
class _DrugRow:
    drug: str
    urgency: str
    urgency_label: str
    genes: tuple[str, ...]
    advice: tuple[_Advice, ...]
    implications: tuple[str, ...]
    notes: tuple[str, ...]
    source: str
    guideline: str
    url: str | None
    version: str


@dataclass(frozen=True, slots=True)
class _Unconfirmed:
    gene: str
    readings: str
    drugs: tuple[str, ...]


def render_report(calls: SampleCalls, patient_id: str, kb: KnowledgeBase, *, generated: str) -> str:
    """The whole HTML page (inline CSS, no scripts, no external assets) for one sample's calls."""
    results, unresolved = _gene_results(calls, kb)
    return _TEMPLATE.render(
        patient_id=patient_id,
        calls=calls,
        generated=generated,
        knowledge_version=kb.version,
        genes=[
            _gene_row(call, results, kb, calls.definitions_version)
            for call in sorted(calls.genes, key=lambda c: c.gene)
        ],
        variants=calls.variants,
        drugs=_drug_rows(kb, results, unresolved),
        unconfirmed=[
            _unconfirmed(call, kb)
            for call in sorted(calls.genes, key=lambda c: c.gene)
            if call.gene in unresolved
        ],
        confirm=_CONFIRM,
    )


def _gene_results(
    calls: SampleCalls, kb: KnowledgeBase
) -> tuple[dict[str, GeneResult], frozenset[str]]:
    """Results the evaluator may act on, and the ambiguous genes it must not (readings differ).

    An ambiguous call is used only when every reading gives the same lookup key: the phenotype,
    or for activity-score genes the score, since CPIC keys those recommendations on the score.
    """
    results: dict[str, GeneResult] = {}
    unresolved: set[str] = set()
    for call in calls.genes:
        if not call.called:
            continue
        if call.gene in _VARIANT_GENES and call.phenotype_basis:
            diplotype: str | None = call.phenotype_basis
        else:
            diplotype = call.diplotype
        if diplotype is not None:
            results[call.gene] = GeneResult(
                call.gene,
                diplotype=diplotype,
                reported_phenotype=call.phenotype,
                source=_RESULT_SOURCE,
            )
            continue
        table = kb.genes.get(call.gene)
        key = call.activity_score if table and table.lookup == "activity_score" else call.phenotype
        result = GeneResult(call.gene, reported_phenotype=key, source=_RESULT_SOURCE)
        if key is not None and call_gene(kb, call.gene, result).lookup_keys:
            results[call.gene] = result
        else:
            unresolved.add(call.gene)
    for variant in calls.variants:
        results[variant.rsid] = GeneResult(
            variant.rsid, diplotype=variant.genotype, source=_RESULT_SOURCE
        )
    return results, frozenset(unresolved)


def _gene_row(
    call: SampleGeneCall,
    results: Mapping[str, GeneResult],
    kb: KnowledgeBase,
    definitions_version: str,
) -> _GeneRow:
    diplotypes = call.diplotypes
    notes = list(call.notes)
    if call.variants:
        diplotypes = (", ".join(call.variants),)
        if call.phenotype_basis:
            notes.insert(
                0, f"phenotype from the two lowest-function variants: {call.phenotype_basis}"
            )
    phenotype, determinate = _phenotype(call)
    if len(call.diplotypes) > 1 and call.gene not in results:
        notes.insert(0, f"Readings differ: no drug advice from {call.gene}; {_CONFIRM}.")
    elif call.gene in results and determinate:
        # The evaluator reads the diplotype, not our phenotype: say when it cannot, or the
        # missing drug advice would read as "nothing to change".
        read = call_gene(kb, call.gene, results[call.gene])
        if not read.lookup_keys and read.note:
            notes.insert(
                0, f"{read.note}: advice keyed on the {call.gene} phenotype was not applied."
            )
    if call.definition_version and call.definition_version != definitions_version:
        notes.append(f"allele definitions {call.definition_version}")
    scores = tuple(dict.fromkeys(s for s in call.activity_scores if s is not None))
    return _GeneRow(
        gene=call.gene,
        diplotypes=diplotypes,
        ambiguous=len(call.diplotypes) > 1,
        reported=call.called,
        phenotype=phenotype,
        determinate=determinate,
        activity_score=" or ".join(scores) if scores else "—",
        source="VCF" if call.source == "vcf" else "outside call",
        phased=("phased" if call.phased else "unphased")
        if call.source == "vcf" and call.called
        else "—",
        gaps=_gaps(call),
        notes=tuple(notes),
    )


def _phenotype(call: SampleGeneCall) -> tuple[str, bool]:
    """The phenotype to print, and whether it is determinate; an indeterminate one says why."""
    if call.phenotype is not None:
        return call.phenotype, True
    if not call.called:
        return "indeterminate: not called", False
    readings = tuple(dict.fromkeys(p for p in call.phenotypes if p is not None))
    if len(call.diplotypes) > 1 and len(readings) > 1:
        return f"indeterminate: {' or '.join(readings)}", False
    if len(call.diplotypes) > 1:
        return "indeterminate: no CPIC phenotype for some readings", False
    return "indeterminate: no CPIC phenotype for this diplotype", False


def _gaps(call: SampleGeneCall) -> tuple[str, ...]:
    gaps = []
    if call.missing_positions:
        gaps.append(f"{len(call.missing_positions)} missing: {_short(call.missing_positions)}")
    if call.uncallable_alleles:
        gaps.append(f"not callable: {_short(call.uncallable_alleles)}")
    return tuple(gaps)


def _short(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHORT_LIST])
    return f"{shown} and {len(items) - _SHORT_LIST} more" if len(items) > _SHORT_LIST else shown


def _drug_rows(
    kb: KnowledgeBase, results: Mapping[str, GeneResult], unresolved: frozenset[str]
) -> list[_DrugRow]:
    """Each drug and guideline whose advice the patient's determinate results change, most urgent first."""
    rows = []
    for drug in kb.guidelines_by_drug:
        for evaluation in evaluate(kb, drug, results):
            if evaluation.lead is None or not any(
                c.result is not None and c.lookup_keys for c in evaluation.calls
            ):
                continue
            rows.append(_drug_row(evaluation, unresolved))
    return sorted(rows, key=lambda r: (-URGENCY[r.urgency], r.drug, r.source, r.guideline))


def _drug_row(evaluation: Evaluation, unresolved: frozenset[str]) -> _DrugRow:
    guideline = evaluation.guideline
    urgency = evaluation.indicator or "info"
    order = list(guideline.populations)
    recommendations = sorted(
        evaluation.recommendations,
        key=lambda r: order.index(r.population) if r.population in order else len(order),
    )
    advice = tuple(
        _Advice(
            # One population ("general") needs no label.
            population=(
                guideline.populations[r.population].label
                if r.population in guideline.populations and len(guideline.populations) > 1
                else None
            ),
            text=_plain_text(r.recommendation),
            strength=r.strength,
            actionable=r in evaluation.actionable,
        )
        for r in recommendations
    )
    implications = tuple(
        dict.fromkeys(
            f"{gene}: {_plain_text(text)}"
            for r in recommendations
            for gene, text in r.implications.items()
            if text.strip().lower() not in ("", "n/a")
        )
    )
    genes = tuple(
        f"{c.gene} {c.diplotype} → {c.phenotype}" if c.diplotype else f"{c.gene} {c.phenotype}"
        for c in evaluation.calls
        if c.phenotype
    ) + tuple(
        f"{c.gene} {c.diplotype}"
        for c in evaluation.calls
        if not c.phenotype and c.alleles and c.gene in evaluation.allele_only
    )
    notes = tuple(
        f"{gene} not used (ambiguous result): {_CONFIRM}."
        for gene in guideline.genes
        if gene in unresolved
    )
    return _DrugRow(
        drug=evaluation.drug,
        urgency=urgency,
        urgency_label=_URGENCY_LABELS[urgency],
        genes=genes,
        advice=advice,
        implications=implications,
        notes=notes,
        source=guideline.source,
        guideline=(
            guideline.name
            if guideline.source in guideline.name
            else f"{guideline.source}: {guideline.name}"
        ),
        url=guideline.url if _HTTP_URL.match(guideline.url) else None,
        version=f"{guideline.version}, data {guideline.data_version}",
    )


def _unconfirmed(call: SampleGeneCall, kb: KnowledgeBase) -> _Unconfirmed:
    phenotypes = call.phenotypes + (None,) * (len(call.diplotypes) - len(call.phenotypes))
    readings = " or ".join(
        f"{d} ({p})" if p else d for d, p in zip(call.diplotypes, phenotypes, strict=False)
    )
    if not readings:
        readings = "variants " + ", ".join(call.variants)
    drugs = tuple(
        sorted(
            drug
            for drug, guidelines in kb.guidelines_by_drug.items()
            if any(call.gene in g.genes for g in guidelines)
        )
    )
    return _Unconfirmed(call.gene, readings, drugs)


def _plain_text(text: str) -> str:
    """Guideline text (plain, or with HTML or markdown formatting) as plain text for escaping.

    Only formatting is removed; the result is never marked safe, so whatever is left, a
    ``<script>`` included, reaches the page escaped.
    """
    text = _BLOCK_TAG.sub(" ", _INLINE_TAG.sub("", text))
    text = html.unescape(text)
    text = _MARKDOWN_LINK.sub(r"\1 (\2)", text)
    text = _MARKDOWN_STRONG.sub(r"\2", text)
    text = _MARKDOWN_CODE.sub(r"\1", text)
    return " ".join(text.split())


_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Pharmacogenomic report: {{ patient_id }}</title>
<style>
@page { size: A4; margin: 14mm 12mm 16mm; }
* { box-sizing: border-box; }
body { font: 10pt/1.4 "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: #111;
  max-width: 186mm; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 16pt; margin: 0 0 .3em; }
h2 { font-size: 12.5pt; margin: 1.4em 0 .4em; border-bottom: 1.5pt solid #333;
  padding-bottom: .15em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em; margin: 0; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
.warnings { border: 1pt solid #b45309; background: #fff7ed; padding: .4em .8em; margin-top: .8em; }
.warnings ul, .confirm ul { margin: .2em 0; padding-left: 1.2em; }
table.fixed { table-layout: fixed; }
#genes col.gene { width: 12%; } #genes col.diplotype { width: 17%; }
#genes col.phenotype { width: 16%; } #genes col.score { width: 8%; }
#genes col.source { width: 8%; } #genes col.phased { width: 9%; }
#genes col.gaps { width: 12%; } #genes col.notes { width: 18%; }
#drugs col.urgency { width: 9%; } #drugs col.drug { width: 12%; }
#drugs col.genes { width: 16%; } #drugs col.advice { width: 45%; }
#drugs col.source { width: 18%; }
table { width: 100%; border-collapse: collapse; margin: .3em 0 1em; }
caption { text-align: left; font-size: 9pt; color: #444; padding-bottom: .3em; caption-side: top; }
th, td { border: .75pt solid #999; padding: .25em .4em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
thead th { background: #e5e7eb; font-size: 9pt; }
tbody th { font-weight: bold; }
td ul { margin: 0; padding-left: 1.1em; }
td p { margin: 0 0 .25em; }
.ambiguous, .indeterminate { font-weight: bold; color: #9a3412; }
.small { font-size: 8.5pt; color: #333; }
.urgency { font-weight: bold; white-space: nowrap; }
tr.critical td.urgency { color: #fff; background: #b91c1c; }
tr.warning td.urgency { background: #fde68a; }
tr.info td.urgency { background: #dbeafe; }
.strength { font-style: italic; white-space: nowrap; }
.standard { color: #555; }
.confirm { border: 1pt solid #9a3412; padding: .4em .8em; }
.confirm h3 { font-size: 11pt; margin: .2em 0; }
footer { margin-top: 2em; border-top: .75pt solid #999; padding-top: .5em; font-size: 8pt;
  color: #333; }
footer p { margin: .3em 0; }
a { color: #1d4ed8; }
@media print {
  body { margin: 0; padding: 0; max-width: none; font-size: 9pt; }
  a { color: inherit; text-decoration: none; }
  a.source::after { content: " (" attr(href) ")"; font-size: 7.5pt; word-break: break-all; }
  thead { display: table-header-group; }
  tr, .confirm, .warnings { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
</head>
<body>
<header>
<h1>Pharmacogenomic report</h1>
<dl class="meta">
<dt>Patient</dt><dd>{{ patient_id }}</dd>
<dt>Sample</dt><dd>{{ calls.sample }}</dd>
<dt>Input file</dt><dd>{{ calls.input_name }}
{%- if calls.input_sha256 %} <span class="small">(SHA-256 {{ calls.input_sha256[:12] }}…)</span>
{%- endif %}</dd>
<dt>Generated</dt><dd>{{ generated }}</dd>
<dt>Allele definitions</dt><dd>{{ calls.definitions_version or "not stated" }}</dd>
<dt>Knowledge version</dt><dd>{{ knowledge_version }}</dd>
</dl>
{% if calls.warnings %}
<div class="warnings" role="note">
<strong>Warnings</strong>
<ul>
{% for warning in calls.warnings %}
<li>{{ warning }}</li>
{% endfor %}
</ul>
</div>
{% endif %}
</header>
<main>
<section aria-labelledby="genes-heading">
<h2 id="genes-heading">Genes</h2>
<table id="genes" class="fixed">
<caption>Diplotypes called from the sample; several diplotypes are equally likely readings.</caption>
<colgroup><col class="gene"/><col class="diplotype"/><col class="phenotype"/><col class="score"/>
<col class="source"/><col class="phased"/><col class="gaps"/><col class="notes"/></colgroup>
<thead>
<tr>
<th scope="col">Gene</th>
<th scope="col">Diplotype</th>
<th scope="col">Phenotype</th>
<th scope="col">Activity score</th>
<th scope="col">Source</th>
<th scope="col">Phased</th>
<th scope="col">Missing / uncallable</th>
<th scope="col">Notes</th>
</tr>
</thead>
<tbody>
{% for row in genes %}
<tr>
<th scope="row">{{ row.gene }}</th>
<td>
{%- if row.diplotypes %}
{%- for diplotype in row.diplotypes %}<p>{{ diplotype }}</p>{% endfor %}
{%- if row.ambiguous %}
<p class="ambiguous">ambiguous ({{ row.diplotypes | length }} equally likely)</p>
{%- endif %}
{%- elif row.reported %}not given
{%- else %}<span class="indeterminate">not called</span>{% endif -%}
</td>
<td{% if not row.determinate %} class="indeterminate"{% endif %}>{{ row.phenotype }}</td>
<td>{{ row.activity_score }}</td>
<td>{{ row.source }}</td>
<td>{{ row.phased }}</td>
<td class="small">{% for gap in row.gaps %}<p>{{ gap }}</p>{% else %}—{% endfor %}</td>
<td class="small">{% for note in row.notes %}<p>{{ note }}</p>{% else %}—{% endfor %}</td>
</tr>
{% endfor %}
{% for variant in variants %}
<tr>
<th scope="row">{{ variant.rsid }}</th>
<td><p>{{ variant.genotype }}</p></td>
<td>—</td>
<td>—</td>
<td>VCF</td>
<td>—</td>
<td class="small">—</td>
<td class="small"><p>single variant near {{ variant.gene }}
({{ variant.chromosome }}:{{ variant.position }})</p></td>
</tr>
{% endfor %}
</tbody>
</table>
</section>
<section aria-labelledby="drugs-heading">
<h2 id="drugs-heading">Drugs affected</h2>
{% if drugs %}
<table id="drugs" class="fixed">
<caption>Drugs whose guideline advice differs from standard for these results, most urgent first.</caption>
<colgroup><col class="urgency"/><col class="drug"/><col class="genes"/><col class="advice"/>
<col class="source"/></colgroup>
<thead>
<tr>
<th scope="col">Urgency</th>
<th scope="col">Drug</th>
<th scope="col">Gene and phenotype</th>
<th scope="col">Recommendation and strength</th>
<th scope="col">Source</th>
</tr>
</thead>
<tbody>
{% for row in drugs %}
<tr class="{{ row.urgency }}">
<td class="urgency">{{ row.urgency_label }}</td>
<th scope="row">{{ row.drug }}</th>
<td>{% for gene in row.genes %}<p>{{ gene }}</p>{% endfor %}</td>
<td>
<ul>
{% for advice in row.advice %}
<li{% if not advice.actionable %} class="standard"{% endif %}>
{%- if advice.population %}<strong>{{ advice.population }}:</strong> {% endif -%}
{{ advice.text }} <span class="strength">(strength: {{ advice.strength }})</span></li>
{% endfor %}
</ul>
{% for implication in row.implications %}<p class="small">Implication: {{ implication }}</p>{% endfor %}
{% for note in row.notes %}<p class="small ambiguous">{{ note }}</p>{% endfor %}
</td>
<td>
{% if row.url %}<a class="source" href="{{ row.url }}">{{ row.guideline }}</a>
{%- else %}{{ row.guideline }}{% endif %}
 <span class="small">({{ row.version }})</span></td>
</tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p>No drug in the knowledge base has advice that differs from standard for these results.</p>
{% endif %}
{% if unconfirmed %}
<div class="confirm" id="confirm">
<h3>Ambiguous results: no drug advice given</h3>
<ul>
{% for item in unconfirmed %}
<li><strong>{{ item.gene }}</strong> ({{ item.readings }}): {{ confirm }} before relying on
{{ item.gene }} for {{ item.drugs | join(", ") or "any drug" }}.</li>
{% endfor %}
</ul>
</div>
{% endif %}
</section>
</main>
<footer>
<p><strong>Not a substitute for clinical judgement.</strong> This report assists clinicians in
decision making; it remains the responsibility of the healthcare provider to determine the best
course of treatment for a patient. Genes and drugs not listed may still matter, and a result not
called here is not a normal result.</p>
<p>CPIC® guideline content (CC0 1.0) via ClinPGx (www.clinpgx.org), the primary source. CPIC
guidelines and content are subject to updates: check cpicpgx.org for the most current content.
CPIC® is a registered service mark of the US Department of Health &amp; Human Services (HHS).
DPWG recommendations via ClinPGx guideline annotations (terms: clinpgx.org/page/dataUsagePolicy).
</p>
<p>Allele definitions and phenotype tables from PharmCAT (github.com/PharmGKB/PharmCAT), Mozilla
Public License 2.0; star-allele names follow PharmVar (www.pharmvar.org).</p>
<p>Knowledge version {{ knowledge_version }}; allele definitions
{{ calls.definitions_version or "not stated" }}.</p>
</footer>
</body>
</html>
"""

# Autoescaping on for every value: nothing from a VCF or the knowledge is ever marked safe.
_TEMPLATE = Environment(
    autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
).from_string(_HTML)
