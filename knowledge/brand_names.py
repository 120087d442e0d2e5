"""Brand names of single-ingredient drugs, read from the Drugs@FDA citations in PharmCAT reports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["REPORTS", "brand_of", "read_brand_names"]

# PharmCAT's example reports (shared/pgx-data/truth/pharmcat_examples): their FDA label annotations
# cite the Drugs@FDA product each label belongs to.
REPORTS = (
    Path("pgx-data/truth/pharmcat_examples/pharmcat.example.report.json"),
    Path("pgx-data/truth/pharmcat_examples/pharmcat.example2.report.json"),
)

# "Drugs@FDA: Drug Product Plavix (clopidogrel bisulfate), NDA020839, …"; a few citations put
# the colon after "Drug Product" instead. The brand is what precedes the first parenthesis.
_CITATION = re.compile(r"^Drugs@FDA:? Drug Product:? (?P<brand>[^()]+?) \((?P<ingredient>[^()]+)\)")
# "a / b", "a, b", "a and b", "a + b", "a with b": more than one active ingredient.
_COMBINATION = re.compile(r"/|,|\+|\band\b|\bwith\b")
# Salt and hydrate words that leave the active moiety unchanged. Esters and prodrugs
# (aripiprazole lauroxil) are not here: they are drugs of their own in CPIC and ClinPGx.
_SALT_WORDS = frozenset(
    {
        "acetate",
        "anhydrous",
        "besylate",
        "bisulfate",
        "bitartrate",
        "bromide",
        "calcium",
        "chloride",
        "citrate",
        "dihydrate",
        "dihydrochloride",
        "dimesylate",
        "disodium",
        "fumarate",
        "gluconate",
        "hcl",
        "hemihydrate",
        "hyclate",
        "hydrate",
        "hydrobromide",
        "hydrochloride",
        "lactate",
        "lysine",
        "magnesium",
        "malate",
        "maleate",
        "mesylate",
        "monohydrate",
        "napsylate",
        "nitrate",
        "oxalate",
        "phosphate",
        "potassium",
        "sesquihydrate",
        "sodium",
        "succinate",
        "sulfate",
        "tartrate",
        "tosylate",
        "trihydrate",
    }
)


def read_brand_names(shared: Path) -> dict[str, list[str]]:
    """Drug name, as the reports key it → its brand names, sorted (case-insensitively) and unique.

    A citation gives a brand of a drug only when its parenthesised ingredient is the drug itself or
    a salt of it ("clopidogrel bisulfate", "bupivacaine hydrochloride in dextrose"); combination
    products are skipped — Symbyax is not a brand of fluoxetine alone — and so are products cited
    under their generic name ("Codeine sulfate (codeine sulfate)"). Brands differing only in case
    are one brand, spelled as the label does when it is not all capitals ("Oxtellar XR").
    """
    found: dict[str, dict[str, str]] = {}
    for report in REPORTS:
        data = json.loads((shared / report).read_text(encoding="utf-8"))
        for drug, title in _citation_titles(data):
            brand = brand_of(drug, title)
            if brand is not None:
                spellings = found.setdefault(drug, {})
                spellings[brand.casefold()] = _preferred(spellings.get(brand.casefold()), brand)
    return {
        drug: sorted(spellings.values(), key=lambda b: (b.casefold(), b))
        for drug, spellings in sorted(found.items())
    }


def brand_of(drug: str, title: str) -> str | None:
    """The brand a Drugs@FDA citation ``title`` gives ``drug``, or ``None`` if it gives none."""
    name = drug.strip().lower()
    match = _CITATION.match(title.strip())
    if not name or _COMBINATION.search(name) or match is None:
        return None
    ingredient = " ".join(match["ingredient"].lower().split())
    if _COMBINATION.search(ingredient) or not _is_drug_or_salt(name, ingredient):
        return None
    # "ELYXYB - celecoxib": the brand, then the generic name after a spaced dash.
    brand = " ".join(match["brand"].split(" - ")[0].split())
    if not brand or _starts_with_words(brand.lower(), name):
        return None
    return brand


def _citation_titles(report: Any) -> Iterator[tuple[str, str]]:
    """(drug key, citation title) for every citation in ``report["drugs"][source][drug]``."""
    sources = report.get("drugs") if isinstance(report, Mapping) else None
    for drugs in sources.values() if isinstance(sources, Mapping) else ():
        for drug, annotation in drugs.items() if isinstance(drugs, Mapping) else ():
            citations = annotation.get("citations") if isinstance(annotation, Mapping) else None
            for citation in citations if isinstance(citations, list) else ():
                title = citation.get("title") if isinstance(citation, Mapping) else None
                if isinstance(drug, str) and isinstance(title, str):
                    yield drug, title


def _is_drug_or_salt(name: str, ingredient: str) -> bool:
    # "in dextrose", "in sodium chloride": the vehicle of an injection, not an ingredient.
    moiety = ingredient.split(" in ")[0].strip()
    if not _starts_with_words(moiety, name):
        return False
    return all(word in _SALT_WORDS for word in moiety[len(name) :].split())


def _starts_with_words(text: str, prefix: str) -> bool:
    return text == prefix or text.startswith(prefix + " ")


def _preferred(current: str | None, candidate: str) -> str:
    """Of two spellings of one brand, the one not in all capitals; else the first in sort order."""
    if current is None:
        return candidate
    return min(current, candidate, key=lambda b: (b.isupper(), b))
