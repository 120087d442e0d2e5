"""Refuse VCFs that are not on GRCh38: the definitions' coordinates mean nothing on GRCh37.

Two kinds of evidence, the first found wins: the header (``##reference`` naming GRCh37/hg19, or a
``##contig`` whose length is GRCh37's), then the records (reference bases that disagree with the
definitions at most of the definition positions the file holds).
"""

from __future__ import annotations

import re

from fhir_adapters.vcf.errors import VcfInputError

__all__ = ["GRCH37_CONTIG_LENGTHS", "check_header_build", "check_reference_agreement"]

# GRCh37 primary-assembly lengths (GCA_000001405.1; GRCh38's are in the synthetic benchmark's
# CONTIGS) of the chromosomes that hold PGx genes: each differs from its GRCh38 length.
GRCH37_CONTIG_LENGTHS = {
    "1": 249250621,
    "2": 243199373,
    "4": 191154276,
    "6": 171115067,
    "7": 159138663,
    "8": 146364022,
    "10": 135534747,
    "12": 133851895,
    "13": 115169878,
    "16": 90354753,
    "19": 59128983,
    "22": 51304566,
    "X": 155270560,
}
_GRCH37_NAMES = re.compile(r"GRCh37|hg19|\bb37\b|hs37d5|human_g1k_v37|NCBI37", re.IGNORECASE)
_CONTIG = re.compile(r"^##contig=<(?P<body>.*)>$")
_FIX = (
    "vcf2fhir needs GRCh38 coordinates (the allele definitions are GRCh38); "
    "lift the calls over or re-call on GRCh38, then check the reference alleles"
)


def _chromosome(name: str) -> str:
    return name.removeprefix("chr").removeprefix("CHR")


def check_header_build(source: str, header: str) -> None:
    """Raise if a header line says the file is on GRCh37."""
    for number, line in enumerate(header.splitlines(), start=1):
        if line.startswith("##reference=") and _GRCH37_NAMES.search(line):
            raise VcfInputError(
                source,
                f"the header names a GRCh37 reference ({line.strip()[:80]})",
                _FIX,
                line=number,
            )
        match = _CONTIG.match(line.strip())
        if match is None:
            continue
        fields = dict(part.split("=", 1) for part in match["body"].split(",") if "=" in part)
        if _GRCH37_NAMES.search(fields.get("assembly", "")):
            raise VcfInputError(source, "a contig line names assembly GRCh37", _FIX, line=number)
        name, length = _chromosome(fields.get("ID", "")), fields.get("length", "")
        if length.isdigit() and GRCH37_CONTIG_LENGTHS.get(name) == int(length):
            raise VcfInputError(
                source,
                f"contig {fields['ID']} has length {length}, GRCh37's (GRCh38's differs)",
                _FIX,
                line=number,
            )


def check_reference_agreement(
    source: str, mismatches: list[tuple[str, int, str, str]], compared: int
) -> None:
    """Raise when most definition positions disagree on the reference base: other coordinates.

    ``mismatches`` holds (chromosome, position, file REF, GRCh38 REF). A few mismatches are read
    as missing positions by the caller; a majority (of at least 10) means another assembly.
    """
    if compared >= 10 and len(mismatches) * 2 > compared:
        chromosome, position, found, expected = mismatches[0]
        raise VcfInputError(
            source,
            f"{len(mismatches)} of {compared} definition positions have a reference base other "
            f"than GRCh38's (first: {chromosome}:{position} REF {found}, GRCh38 {expected}); "
            "the coordinates look like another assembly",
            _FIX,
        )
