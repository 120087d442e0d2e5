"""Damaged VCFs: every one is read or refused with a VcfInputError, never another exception."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from fhir_adapters.vcf.errors import VcfInputError
from fhir_adapters.vcf.pipeline import call_vcf
from knowledge import KnowledgeBase

EXAMPLE = (
    Path(__file__).resolve().parents[4] / "shared/pgx-data/truth/pharmcat_examples"
) / "pharmcat.example2.vcf"
GENOTYPES = ["./.", "0|1", "1/2", "3/0", ".|1", "1", "0/0/1", "A/T", "", "."]
CHARACTERS = "ACGT./|,<>*0123456789xyz"


def _mutate(line: str, rng: random.Random) -> str:
    fields = line.split("\t")
    i = rng.randrange(len(fields))
    kind = rng.choice(["empty", "dot", "garbage", "gt", "swap", "drop", "alts", "position"])
    if kind == "empty":
        fields[i] = ""
    elif kind == "dot":
        fields[i] = "."
    elif kind == "garbage":
        fields[i] = "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(1, 8)))
    elif kind == "gt":
        fields[-1] = rng.choice(GENOTYPES)
    elif kind == "swap":
        fields[3], fields[4] = fields[4], fields[3]
    elif kind == "drop":
        fields = fields[: rng.randint(1, len(fields))]
    elif kind == "alts":
        fields[4] = ",".join(["A", "C", "G", "T", "<NON_REF>", "*"][: rng.randint(1, 6)])
    else:
        fields[1] = str(-rng.randint(0, 10))
    return "\t".join(fields)


@pytest.mark.parametrize("seed", range(40))
def test_a_damaged_vcf_is_read_or_refused_cleanly(
    tmp_path: Path, kb: KnowledgeBase, seed: int
) -> None:
    rng = random.Random(seed)
    lines = EXAMPLE.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    for _ in range(rng.randint(1, 20)):
        j = rng.randrange(len(body))
        body[j] = _mutate(body[j], rng)
    if rng.random() < 0.2:
        rng.shuffle(body)
    path = tmp_path / "damaged.vcf"
    path.write_text("\n".join(header + body) + "\n")
    refusal: VcfInputError | None = None
    try:
        samples = call_vcf(path, kb=kb)
    except VcfInputError as exc:
        refusal = exc
    if refusal is not None:
        assert str(refusal).startswith("damaged.vcf")
    else:
        assert [s.sample for s in samples] == ["Sample_2"]
