"""Read an HGVS protein change (``p.Leu858Arg``, ``L858R``, ``E746_A750del``) into one form."""

from __future__ import annotations

import re

from knowledge.tumour import ChangeType, ProteinChange

__all__ = ["parse_protein_change"]

_THREE_LETTER = {
    "Ala": "A",
    "Arg": "R",
    "Asn": "N",
    "Asp": "D",
    "Cys": "C",
    "Gln": "Q",
    "Glu": "E",
    "Gly": "G",
    "His": "H",
    "Ile": "I",
    "Leu": "L",
    "Lys": "K",
    "Met": "M",
    "Phe": "F",
    "Pro": "P",
    "Ser": "S",
    "Thr": "T",
    "Trp": "W",
    "Tyr": "Y",
    "Val": "V",
    "Sec": "U",
    "Pyl": "O",
}
_ONE_LETTER = "".join(_THREE_LETTER.values())
STOP = "*"
# "X" for a stop is legacy (HGVS before 2016, COSMIC, many lab reports: R1443X). HGVS's
# unknown residue "Xaa" is not accepted: a change to an unknown residue says nothing usable.
_STOPS = {"three": r"(?:Ter|\*|X)", "one": r"(?:\*|X)"}
_RESIDUES = {
    "three": "(?:" + "|".join(_THREE_LETTER) + ")",
    "one": f"[{_ONE_LETTER}]",
}
# Titin, the longest human protein, has 34,350 residues: six digits bound any real position.
_POSITION = "[1-9][0-9]{0,5}"
# An optional reference sequence (NP_005219.2:, ENSP00000275493.2:, LRG_304p1:) and "p.".
_PREFIX = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_.\-]*:)?(?:p\.)?", re.ASCII)


def _patterns(mode: str) -> list[tuple[str, re.Pattern[str]]]:
    aa, stop = _RESIDUES[mode], _STOPS[mode]
    any_residue = f"(?:{aa}|{stop})"
    first = rf"(?P<ref>{any_residue})(?P<start>{_POSITION})"
    second = rf"_(?P<ref2>{aa})(?P<end>{_POSITION})"
    tail = rf"(?:{stop}(?:[1-9][0-9]{{0,5}}|\?)|-[1-9][0-9]{{0,5}})"
    return [
        ("frameshift", re.compile(rf"{first}(?:{any_residue})?fs(?:{stop}(?:{_POSITION}|\?))?")),
        ("extension", re.compile(rf"{first}(?P<alt>{aa})?ext(?P<tail>{tail})")),
        ("delins", re.compile(rf"{first}(?:{second})?delins(?P<seq>{any_residue}+)")),
        ("insertion", re.compile(rf"{first}{second}ins(?P<seq>{any_residue}+)")),
        ("deletion", re.compile(rf"{first}(?:{second})?del")),
        ("duplication", re.compile(rf"{first}(?:{second})?dup")),
        ("substitution", re.compile(rf"{first}(?P<alt>{any_residue}|=|\?)")),
    ]


_GRAMMARS = {mode: _patterns(mode) for mode in ("three", "one")}
_SEQUENCE_TOKENS = {
    "three": re.compile(r"Ter|\*|X|" + "|".join(_THREE_LETTER)),
    "one": re.compile(r"."),
}


def parse_protein_change(text: str) -> ProteinChange | None:
    """The change ``text`` describes, in one-letter HGVS form; ``None`` if it is not one.

    Accepts what labs send: with or without a reference sequence and ``p.``, predicted
    changes in parentheses, three- or one-letter residues (not mixed), ``*``/``Ter``/``X``
    for a stop. Alleles (``p.[…;…]``), repeats, unknown residues and whole-protein statements
    (``p.0``, ``p.?``) give ``None``: only a change at known residues is returned.
    """
    body = _PREFIX.sub("", text.strip(), count=1)
    if body.startswith("(") and body.endswith(")"):
        # "p.(Leu858Arg)", a predicted change; also "(p.Leu858Arg)" as some reports write it.
        body = body[1:-1].removeprefix("p.")
    for mode, grammar in _GRAMMARS.items():
        for kind, pattern in grammar:
            match = pattern.fullmatch(body)
            if match is not None:
                return _change(kind, match, mode)
    return None


def _change(kind: str, match: re.Match[str], mode: str) -> ProteinChange | None:
    ref = _one_letter(match["ref"])
    start = int(match["start"])
    groups = match.groupdict()
    end = int(groups["end"]) if groups.get("end") else start
    if end < start or (groups.get("end") and end == start):
        return None
    ref2 = _one_letter(groups["ref2"]) if groups.get("ref2") else None
    span = f"{ref}{start}" + (f"_{ref2}{end}" if ref2 else "")
    if kind == "insertion":
        # An insertion lies between two neighbouring residues, by definition.
        if end != start + 1:
            return None
        seq = _sequence(match["seq"], mode)
        return ProteinChange(f"{span}ins{seq}", start, end, ref, "insertion")
    if kind == "delins":
        seq = _sequence(match["seq"], mode)
        return ProteinChange(f"{span}delins{seq}", start, end, ref, "delins")
    if kind == "deletion":
        return ProteinChange(f"{span}del", start, end, ref, "deletion")
    if kind == "duplication":
        return ProteinChange(f"{span}dup", start, end, ref, "duplication")
    if kind == "frameshift":
        return ProteinChange(f"{ref}{start}fs", start, start, ref, "frameshift")
    if kind == "extension":
        alt = _one_letter(groups["alt"]) if groups.get("alt") else ""
        tail = match["tail"].replace("Ter", STOP).replace("X", STOP)
        return ProteinChange(f"{ref}{start}{alt}ext{tail}", start, start, ref, "extension")
    return _substitution(ref, start, match["alt"])


def _substitution(ref: str, position: int, alt_token: str) -> ProteinChange:
    if alt_token == "?":
        return ProteinChange(f"{ref}{position}?", position, position, ref, "other")
    alt = ref if alt_token == "=" else _one_letter(alt_token)
    kind: ChangeType
    if alt == ref:
        return ProteinChange(f"{ref}{position}=", position, position, ref, "synonymous")
    if alt == STOP:
        kind = "nonsense"
    elif ref == STOP:
        # A stop codon read through without "ext" (old notation): the length change is unknown.
        kind = "other"
    else:
        return ProteinChange(f"{ref}{position}{alt}", position, position, ref, "missense", alt)
    return ProteinChange(f"{ref}{position}{alt}", position, position, ref, kind)


def _one_letter(token: str) -> str:
    if token in ("Ter", "*", "X"):
        return STOP
    return _THREE_LETTER.get(token, token)


def _sequence(text: str, mode: str) -> str:
    return "".join(_one_letter(t) for t in _SEQUENCE_TOKENS[mode].findall(text))
