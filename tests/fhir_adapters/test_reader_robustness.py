"""Mangled FHIR never breaks the reader: every shared example, mutated at random, is read or
listed as unreadable, never an exception (which the hook would turn into a 500)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from fhir_adapters import read_genotypes
from knowledge import KnowledgeBase

# Values a careless or hostile client puts where FHIR expects something else.
_JUNK: tuple[Any, ...] = (
    None,
    1,
    -3.5,
    True,
    "x",
    "",
    [],
    {},
    [{"a": 1}],
    {"text": 5},
    "*1/*2",
    "HLA-B*57:01+",
    "rs1 C/T",
)


def _mutate(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            roll = rng.random()
            if roll < 0.03:
                continue  # a field dropped
            out[key] = rng.choice(_JUNK) if roll < 0.08 else _mutate(inner, rng)
        return out
    if isinstance(value, list):
        return [_mutate(item, rng) for item in value if rng.random() > 0.03]
    if isinstance(value, str) and rng.random() < 0.05:
        return rng.choice(_JUNK)
    return value


@pytest.fixture(scope="module")
def examples(shared: Path) -> list[Any]:
    found = []
    for path in sorted((shared / "fhir-examples").rglob("*.json")):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            continue  # a file that is not JSON at all is the client's parser's problem
    assert len(found) > 50
    return found


@pytest.mark.parametrize("seed", range(4))
def test_mutated_examples_are_read_or_listed_never_raise(
    kb: KnowledgeBase, examples: list[Any], seed: int
) -> None:
    rng = random.Random(seed)
    loci = set(kb.genes) | kb.variants
    for _ in range(500):
        readout = read_genotypes([_mutate(rng.choice(examples), rng)], kb.genes_by_hgnc, kb=kb)
        # Whatever was read names a gene or variant the knowledge knows, or something the lab
        # named (left for the knowledge to call unreadable); nothing is dropped silently.
        for gene, result in readout.results.items():
            assert result.gene == gene
            assert gene in loci or gene.isupper() or gene.startswith("rs")
