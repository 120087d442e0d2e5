"""The drug table: each drug's RxNorm ingredient code, ATC codes and names, with its source."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from knowledge.generation.common import CPIC_DATA, CPIC_DATA_RELEASE, GenerationError

__all__ = ["generate_drugs"]

_BOOTSTRAP = "cpic-data/drug_2019_bootstrap.tsv"
_PYPGX = "pypgx/cpic-table.csv"


def generate_drugs(
    shared: Path,
    names: set[str],
    curated: Mapping[str, Any],
    brands: Mapping[str, list[str]],
) -> dict[str, Any]:
    """Every coded drug of CPIC's and PyPGx's tables, then curation; ``names`` must all be there.

    Drugs without a guideline are kept: they are what alternatives may name.
    """
    drugs: dict[str, dict[str, Any]] = {}
    with (shared / "pgx-data" / _BOOTSTRAP).open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["rxnormid"]:
                drugs[row["name"]] = {
                    "rxnorm": row["rxnormid"],
                    "atc": [a for a in row["atcid"].strip("{}").split(",") if a],
                    "pharmgkb": row["pharmgkbid"] or None,
                    "source": f"CPIC drug table ({_BOOTSTRAP}, cpic-data {CPIC_DATA[:7]})",
                }
    with (shared / "pgx-data" / _PYPGX).open(newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["Drug"]
            if name not in drugs and row["RxNorm"].isdigit():
                drugs[name] = {
                    "rxnorm": row["RxNorm"],
                    "atc": [
                        a.strip() for a in row["ATC"].split(",") if a.strip() not in ("", "NA")
                    ],
                    "source": f"PyPGx 0.27.0 CPIC gene-drug table ({_PYPGX})",
                }
    for name, entry in curated.items():
        if name in drugs:
            raise GenerationError(f"curated drug {name!r} is already in {drugs[name]['source']}")
        drugs[name] = {
            "rxnorm": None if entry.get("rxnorm") is None else str(entry["rxnorm"]),
            "atc": list(entry.get("atc", [])),
            "source": " ".join(entry["source"].split()),
        }
    by_code: dict[str, str] = {}
    for name in sorted(drugs, key=lambda n: (n not in names, n)):
        code = drugs[name]["rxnorm"]
        if code is None:
            continue
        if code in by_code:
            # Two names of one ingredient (glibenclamide = glyburide): one entry, one synonym.
            kept = drugs[by_code[code]]
            kept.setdefault("synonyms", []).append(name)
            del drugs[name]
        else:
            by_code[code] = name
    missing = sorted(names - drugs.keys())
    if missing:
        raise GenerationError(f"no drug entry for {missing}: add them to curation/drugs.yaml")
    for name, entry in drugs.items():
        synonyms = entry.pop("synonyms", [])
        synonyms += [b for b in brands.get(name, []) if b.lower() != name.lower()]
        if synonyms:
            entry["synonyms"] = synonyms
    cleaned = {n: {k: v for k, v in d.items() if v not in (None, [])} for n, d in drugs.items()}
    return {
        "source": {
            "name": "CPIC drug table (2019 bootstrap), PyPGx CPIC table, curation/drugs.yaml",
            "file": _BOOTSTRAP,
            "version": CPIC_DATA_RELEASE,
            "repository": "cpicpgx/cpic-data",
            "commit": CPIC_DATA,
            "license": "CC0 1.0",
        },
        "drugs": dict(sorted(cleaned.items())),
    }
