"""CPIC's warfarin flowcharts (figures 2 and 3 of the 2017 update) as flowchart rules.

CPIC publishes no recommendation table for warfarin: its export has no rows and the advice is a
diagram (``cpic-data/warfarin/*.graphml``). ``curation/warfarin.yaml`` holds the reading of the
diagram: for each rule, the box it encodes, the path that leads there, and the genotype conditions.
This module checks each of those claims against the diagram's nodes and edges, and takes the text,
the footnotes and the strength from the diagram itself, so nothing clinical is typed by hand.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.generation.common import (
    CPIC_DATA,
    CPIC_DATA_DATE,
    CPIC_DATA_RELEASE,
    PHARMCAT_GUIDELINES,
    GenerationError,
    read_json,
)

__all__ = ["Diagram", "generate_warfarin", "read_diagram"]

_GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"
_STRENGTH_LABELS = {"STRONG": "strong", "MODERATE": "moderate", "OPTIONAL": "optional"}
# yEd footnote marks: "<sup>d,e</sup>"; one box has "<supf</sup>" (a missing ">") in the source.
_FOOTNOTE_MARK = re.compile(r"<sup>?(?P<letters>[a-z](?:\s*,\s*[a-z])*)</sup>")
_LEGEND_ENTRY = re.compile(r"\((?P<letter>[a-z])\)\s")
_EDGE_LABEL = re.compile(r"^(?P<quote>.*?)\s*\[(?P<label>[A-Z]+)\]$")
# A strength label sits just left of its box; yEd places them by hand, a few pixels apart at most.
_LABEL_GAP = 3.0


@dataclass(frozen=True)
class Box:
    id: str
    text: str
    footnotes: tuple[str, ...]
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Diagram:
    """One yEd flowchart: its boxes, its labelled edges, its legend and its strength labels."""

    file: str
    boxes: Mapping[str, Box]
    edges: frozenset[tuple[str, str, str]]
    legend: Mapping[str, str]
    strength_labels: tuple[tuple[str, Box], ...]
    legend_box: Box

    def candidates(self, quote: str) -> list[Box]:
        """Boxes whose text is ``quote``, else those containing it (the legend aside)."""
        wanted = _squash(quote)
        return [b for b in self.boxes.values() if b.text == wanted] or [
            b for b in self.boxes.values() if wanted in b.text and b is not self.legend_box
        ]

    def find(self, quote: str) -> Box:
        """The one box ``quote`` names; none or several is a curation error."""
        found = self.candidates(quote)
        if len(found) != 1:
            where = "no box" if not found else f"{len(found)} boxes"
            raise GenerationError(f"{self.file}: {where} with {quote!r}")
        return found[0]

    def strength_of(self, box: Box) -> str | None:
        """The STRONG/MODERATE/OPTIONAL label just left of the box and level with its middle."""
        middle = box.y + box.height / 2
        for strength, label in self.strength_labels:
            beside = abs(label.x + label.width - box.x) <= _LABEL_GAP
            if beside and label.y <= middle <= label.y + label.height:
                return strength
        return None

    def check_path(self, steps: list[str]) -> Box:
        """Every step is an edge of the diagram (with the label named); returns the last box."""
        previous: tuple[Box, str | None] | None = None
        for step in steps:
            labelled = _EDGE_LABEL.match(step)
            quote, label = (labelled["quote"], labelled["label"]) if labelled else (step, None)
            if previous is None:
                previous = (self.find(quote), label)
                continue
            before, wanted = previous
            # Two boxes may read the same (the loading-dose advice): the edge tells them apart.
            reached = [
                box
                for box in self.candidates(quote)
                if any(
                    s == before.id and t == box.id and (wanted is None or lab == wanted)
                    for s, t, lab in self.edges
                )
            ]
            if len(reached) != 1:
                raise GenerationError(
                    f"{self.file}: no edge {before.text[:40]!r} -[{wanted or ''}]-> {quote!r}"
                )
            previous = (reached[0], label)
        if previous is None:
            raise GenerationError(f"{self.file}: an empty path")
        return previous[0]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _plain(markup: str) -> str:
    # Line breaks separate words; inline tags (<em>) sit inside them ("*3</em>:" is "*3:").
    without_marks = _FOOTNOTE_MARK.sub("", re.sub(r"(?i)<br\s*/?>", " ", markup))
    return _squash(html.unescape(re.sub(r"<[^>]+>", "", without_marks)))


def read_diagram(shared: Path, relative: str) -> Diagram:
    """Parse a yEd graphml file into boxes (text, footnote marks, geometry) and labelled edges."""
    root = ET.parse(shared / "pgx-data" / relative).getroot()
    boxes: dict[str, Box] = {}
    for node in root.iter(f"{_GRAPHML}node"):
        markup = "".join(
            label.text or "" for label in node.iter() if label.tag.endswith("NodeLabel")
        )
        geometry = next(g.attrib for g in node.iter() if g.tag.endswith("Geometry"))
        letters = [m["letters"] for m in _FOOTNOTE_MARK.finditer(markup)]
        boxes[node.attrib["id"]] = Box(
            id=node.attrib["id"],
            text=_plain(markup),
            footnotes=tuple(x.strip() for group in letters for x in group.split(",")),
            x=float(geometry["x"]),
            y=float(geometry["y"]),
            width=float(geometry["width"]),
            height=float(geometry["height"]),
        )
    edges = frozenset(
        (
            edge.attrib["source"],
            edge.attrib["target"],
            _squash("".join(x.text or "" for x in edge.iter() if x.tag.endswith("EdgeLabel"))),
        )
        for edge in root.iter(f"{_GRAPHML}edge")
    )
    legend_box = next((b for b in boxes.values() if b.text.startswith("(a)")), None)
    if legend_box is None:
        raise GenerationError(f"{relative}: no footnote legend ('(a) …') found")
    parts = _LEGEND_ENTRY.split(legend_box.text)
    legend = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    labels = tuple(
        (_STRENGTH_LABELS[b.text], b) for b in boxes.values() if b.text in _STRENGTH_LABELS
    )
    return Diagram(relative, boxes, edges, legend, labels, legend_box)


def _carriers(shared: Path, gene: str, variant: str) -> list[str]:
    """The gene's named alleles carrying a variant ("rs2108622 T"), from PharmCAT's definitions."""
    rsid, _, allele = variant.partition(" ")
    definition = read_json(shared, f"pharmcat/definition/alleles/{gene}_translation.json")
    positions = [i for i, v in enumerate(definition["variants"]) if v.get("rsid") == rsid]
    if len(positions) != 1 or not allele:
        raise GenerationError(f"{gene}: {variant!r} is not one variant of its allele definitions")
    at = positions[0]
    found = [a["name"] for a in definition["namedAlleles"] if a["alleles"][at] == allele]
    if not found:
        raise GenerationError(f"{gene}: no named allele carries {variant!r}")
    return found


def _variant(shared: Path, rsid: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    exemptions = read_json(shared, spec["definitions"])
    gene = spec["gene"]
    found = [p for p in exemptions[gene]["extraPositions"] if p.get("rsid") == rsid]
    if len(found) != 1:
        raise GenerationError(f"{spec['definitions']}: {gene} has no extra position {rsid}")
    position = found[0]
    return {
        "gene": gene,
        "chromosome": position["chromosome"],
        "position": position["position"],
        "ref": position["ref"],
        "alt": list(position["alts"]),
        "source": f"{spec['definitions']} (PharmCAT {gene} extra position)",
    }


class _Reader:
    """Turns curated rules into recommendations, checking each against the diagrams."""

    def __init__(self, shared: Path, diagrams: Mapping[str, Diagram]) -> None:
        self.shared = shared
        self.diagrams = diagrams

    def diagram(self, name: str) -> Diagram:
        if name not in self.diagrams:
            raise GenerationError(f"warfarin: unknown diagram {name!r}")
        return self.diagrams[name]

    def footnotes(self, diagram: Diagram, letters: list[str] | tuple[str, ...]) -> str | None:
        missing = [x for x in letters if x not in diagram.legend]
        if missing:
            raise GenerationError(f"{diagram.file}: no footnote {missing} in the legend")
        return " ".join(f"({x}) {diagram.legend[x]}" for x in letters) or None

    def text_and_strength(self, rule: Mapping[str, Any]) -> tuple[str, str, str | None]:
        """The recommendation text, its strength, and the footnotes that go with it."""
        ident = rule["id"]
        if "footnote" in rule:
            return self._footnote_rule(rule)
        texts = []
        for name, steps in rule["paths"].items():
            diagram = self.diagram(name)
            box = diagram.check_path(steps)
            texts.append((diagram, box))
        diagram, box = texts[0]
        for _, other in texts[1:]:
            if other.text != box.text:
                raise GenerationError(f"warfarin rule {ident}: its paths end at different advice")
        text = box.text
        if "quote" in rule:
            quote = _squash(rule["quote"])
            if quote not in box.text:
                raise GenerationError(f"warfarin rule {ident}: quote not in {box.text[:60]!r}")
            text = quote
        found = diagram.strength_of(box)
        curated: str | None = rule.get("strength")
        strength = found or curated
        if strength is None:
            raise GenerationError(
                f"warfarin rule {ident}: the box has no strength label; set strength"
            )
        if found is not None and curated is not None and found != curated:
            raise GenerationError(
                f"warfarin rule {ident}: strength {curated!r} but the diagram says {found!r}"
            )
        # A rule quoting part of a box may keep only the footnotes that part cites.
        own = rule.get("box_footnotes", box.footnotes)
        if not set(own) <= set(box.footnotes):
            raise GenerationError(f"warfarin rule {ident}: box_footnotes {own} not all cited")
        letters = list(dict.fromkeys([*own, *rule.get("footnotes", [])]))
        return text, strength, self.footnotes(diagram, letters)

    def _footnote_rule(self, rule: Mapping[str, Any]) -> tuple[str, str, str | None]:
        letter = rule["footnote"]
        strengths: set[str | None] = set()
        diagram = None
        for name, quote in rule["cited_by"].items():
            diagram = self.diagram(name)
            box = diagram.find(quote)
            if letter not in box.footnotes:
                raise GenerationError(
                    f"warfarin rule {rule['id']}: {box.text[:40]!r} does not cite ({letter})"
                )
            strengths.add(diagram.strength_of(box))
        if diagram is None or len(strengths) != 1 or None in strengths:
            raise GenerationError(f"warfarin rule {rule['id']}: no single strength to inherit")
        text = diagram.legend.get(letter)
        strength = strengths.pop()
        if text is None or strength is None:
            raise GenerationError(f"{diagram.file}: no footnote ({letter})")
        return text, strength, None

    def conditions(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        when: dict[str, Any] = {}
        for locus, condition in rule["when"].items():
            condition = dict(condition)
            variant = condition.pop("carries_variant", None)
            if variant is not None:
                condition["carries"] = _carriers(self.shared, locus, variant)
            when[locus] = condition
        return when


def generate_warfarin(shared: Path, curation: Mapping[str, Any]) -> dict[str, Any]:
    """The ``cpic-warfarin`` guideline file, from the curated reading of CPIC's diagrams."""
    diagrams = {name: read_diagram(shared, rel) for name, rel in curation["diagrams"].items()}
    reader = _Reader(shared, diagrams)
    export = read_json(shared, curation["export"])
    annotation = export["guideline"]
    if export["recommendations"]:
        raise GenerationError(
            f"{curation['export']} now has recommendations: generate warfarin from the export"
        )
    populations = {}
    for key, spec in curation["populations"].items():
        diagram = reader.diagram(spec["diagram"])
        box = diagram.find(spec["node"])
        described = reader.footnotes(diagram, box.footnotes)
        populations[key] = (
            {"label": spec["label"]}
            | ({"description": described} if described else {})
            | ({"applies_to": spec["applies_to"]} if "applies_to" in spec else {})
        )
    recommendations = []
    for rule in curation["rules"]:
        text, strength, considerations = reader.text_and_strength(rule)
        dose = rule.get("dose_adjustment")
        if dose is not None and _squash(dose["quote"]) not in text:
            raise GenerationError(f"warfarin rule {rule['id']}: dose quote not in {text!r}")
        population = rule.get("population")
        if population is not None and population not in populations:
            raise GenerationError(f"warfarin rule {rule['id']}: unknown population {population}")
        entry = {
            "id": rule["id"],
            "drug": "warfarin",
            "population": population,
            "when": reader.conditions(rule),
            "strength": strength,
            "action": rule["action"],
            "recommendation": text,
            "considerations": considerations,
            "dose_adjustment": dose,
            "dose_calculation": rule.get("dose_calculation"),
        }
        recommendations.append({k: v for k, v in entry.items() if v is not None})
    citations = [
        {"pmid": c["pmid"], "title": c["title"], "year": c["year"]}
        for c in export.get("citations", [])
        if c.get("pmid")
    ]
    diagram_files = ", ".join(d.file for d in diagrams.values())
    return {
        "id": "cpic-warfarin",
        "name": curation["name"],
        "source": "CPIC",
        "status": "active",
        "url": curation["url"],
        "annotation_url": annotation["url"],
        "version": str(curation["version"]),
        # The diagrams are what the advice rests on; the export only names the guideline.
        "data_version": f"{CPIC_DATA_RELEASE} ({CPIC_DATA_DATE})",
        "data": {
            "name": "CPIC warfarin dosing flowcharts (figures 2 and 3), yEd graphml",
            "file": diagram_files,
            "version": CPIC_DATA_RELEASE,
            "repository": "cpicpgx/cpic-data",
            "commit": CPIC_DATA,
            "license": "CPIC content CC0 1.0 (see LICENSE-DATA.md)",
        },
        "notes": [
            "CPIC gives warfarin advice as a flowchart, not a table: its export "
            f"({curation['export']}, PharmCAT commit {PHARMCAT_GUIDELINES[:7]}) has no rows. "
            "These rules are the flowchart's boxes; knowledge/curation/warfarin.yaml says which "
            "box each encodes and the generator checks it against the diagram.",
            "Ancestry and age select the branch; they are patient factors this service does not "
            "read yet, so every group's rows are shown and the prescriber picks the one that fits.",
            "Strengths are the STRONG/MODERATE/OPTIONAL labels beside each box; the 'Dose "
            "clinically' exits carry none ('not graded').",
        ],
        "citations": citations,
        "genes": [g["symbol"] for g in annotation["relatedGenes"]],
        "drugs": [c["name"] for c in annotation["relatedChemicals"]],
        "population_heading": curation.get("population_heading"),
        "populations": populations,
        "variants": {
            rsid: _variant(shared, rsid, spec) for rsid, spec in curation["variants"].items()
        },
        "recommendations": recommendations,
        "tests": curation.get("tests", []),
    }
