"""A knowledge folder is read once per load, and an unchanged one is not parsed again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from knowledge import KnowledgeLoadError, load_knowledge_base
from knowledge import loader as loader_module
from knowledge.loader import bundled_root
from knowledge.snapshot import take_snapshot
from tests.knowledge.small_knowledge import copy_knowledge

BUNDLED = Path(str(bundled_root()))
# A small folder that loads: a gene, the drugs table and one guideline resting on them.
SUBSET = ("drugs.yaml", "genes/CYP2C19.yaml", "guidelines/cpic-clopidogrel.yaml")
GUIDELINE = "guidelines/cpic-clopidogrel.yaml"


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    return copy_knowledge(tmp_path / "knowledge", SUBSET)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the loader parses, in order (the real parser still does the work)."""
    seen: list[str] = []
    real = loader_module.parse_yaml

    def counting(text: str, path: str):  # type: ignore[no-untyped-def]
        seen.append(path)
        return real(text, path)

    monkeypatch.setattr(loader_module, "parse_yaml", counting)
    return seen


def test_an_unchanged_folder_gives_the_same_knowledge_base_unparsed(
    knowledge_copy: Path, parses: list[str]
) -> None:
    first = load_knowledge_base(knowledge_copy)
    parsed = len(parses)

    again = load_knowledge_base(knowledge_copy)

    assert parsed == len(SUBSET)
    assert again is first
    assert len(parses) == parsed


def test_a_changed_byte_is_seen_even_with_the_same_size_and_time(
    knowledge_copy: Path, parses: list[str]
) -> None:
    """The reuse rests on the bytes, not on the file's size or modification time."""
    path = knowledge_copy / GUIDELINE
    first = load_knowledge_base(knowledge_copy)
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    edited = text.replace("use at standard dose (75 mg/day)", "use at standard dose (76 mg/day)", 1)
    assert edited != text
    assert len(edited.encode()) == stat.st_size
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    again = load_knowledge_base(knowledge_copy)

    assert again is not first
    assert again.version != first.version
    texts = [rec.recommendation for rec in again.guidelines["cpic-clopidogrel"].recommendations]
    assert any("(76 mg/day)" in text for text in texts)
    assert len(parses) == 2 * len(SUBSET)


def test_a_refused_folder_is_refused_every_time_even_after_a_good_load(
    knowledge_copy: Path,
) -> None:
    good = load_knowledge_base(knowledge_copy)
    path = knowledge_copy / GUIDELINE
    original = path.read_bytes()
    path.write_bytes(original.replace(b"strength: strong", b"strength: sturdy", 1))

    for _ in range(2):
        with pytest.raises(KnowledgeLoadError, match="sturdy"):
            load_knowledge_base(knowledge_copy)

    path.write_bytes(original)
    assert load_knowledge_base(knowledge_copy) is good


def test_files_the_loader_does_not_read_do_not_matter(
    knowledge_copy: Path, parses: list[str]
) -> None:
    first = load_knowledge_base(knowledge_copy)
    (knowledge_copy / "curation").mkdir()
    (knowledge_copy / "curation" / "notes.yaml").write_text("anything: [")
    (knowledge_copy / "genes" / "README.md").write_text("# genes\n")
    (knowledge_copy / ".git").mkdir()
    (knowledge_copy / ".git" / "config.yaml").write_text("not: read")

    assert load_knowledge_base(knowledge_copy) is first
    assert len(parses) == len(SUBSET)


def test_a_new_file_in_a_read_folder_is_loaded(knowledge_copy: Path) -> None:
    first = load_knowledge_base(knowledge_copy)
    shutil.copyfile(BUNDLED / "genes/CYP2D6.yaml", knowledge_copy / "genes/CYP2D6.yaml")

    again = load_knowledge_base(knowledge_copy)

    assert "CYP2D6" not in first.genes
    assert "CYP2D6" in again.genes


def test_two_roots_with_equal_files_each_name_their_own_files(tmp_path: Path) -> None:
    """Versions (and messages) name the root they were loaded from: no sharing across roots."""
    roots = [copy_knowledge(tmp_path / name, SUBSET) for name in ("a", "b")]

    first, second = (load_knowledge_base(root) for root in roots)

    assert first is not second
    assert first.version != second.version


def test_the_snapshot_holds_the_yaml_files_directly_inside_its_folders(tmp_path: Path) -> None:
    (tmp_path / "genes" / "deeper").mkdir(parents=True)
    (tmp_path / "genes" / "A.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "genes" / "deeper" / "B.yaml").write_bytes(b"b: 2\n")
    (tmp_path / "genes" / "notes.txt").write_bytes(b"text")
    (tmp_path / "genes" / "dir.yaml").mkdir()
    (tmp_path / "drugs.yaml").write_bytes(b"drugs: {}\n")

    snapshot = take_snapshot(tmp_path, ("", "genes", "guidelines"))

    assert snapshot.is_dir("genes")
    assert not snapshot.is_dir("guidelines")
    assert snapshot.yaml_names("genes") == ["A.yaml"]
    assert snapshot.yaml_names("") == ["drugs.yaml"]
    assert snapshot.read("genes/A.yaml") == b"a: 1\n"
    assert snapshot.read("genes/dir.yaml") is None
    assert snapshot.read("genes/deeper/B.yaml") is None


def test_fingerprints_are_equal_only_for_equal_paths_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "genes").mkdir()
    (tmp_path / "genes" / "A.yaml").write_bytes(b"a: 1\n")
    before = take_snapshot(tmp_path, ("genes",)).fingerprint

    assert take_snapshot(tmp_path, ("genes",)).fingerprint == before
    (tmp_path / "genes" / "A.yaml").rename(tmp_path / "genes" / "B.yaml")
    assert take_snapshot(tmp_path, ("genes",)).fingerprint != before
    (tmp_path / "genes" / "B.yaml").rename(tmp_path / "genes" / "A.yaml")
    (tmp_path / "genes" / "A.yaml").write_bytes(b"a: 2\n")
    assert take_snapshot(tmp_path, ("genes",)).fingerprint != before


def test_only_the_roots_used_last_are_remembered(tmp_path: Path, parses: list[str]) -> None:
    """A test run loads hundreds of scratch copies of ~10 MiB each: they must not all stay."""
    small = ("drugs.yaml", "genes/CYP2C19.yaml")
    roots = {name: copy_knowledge(tmp_path / name, small) for name in "abcdef"}

    def parsed_loading(name: str) -> bool:
        before = len(parses)
        load_knowledge_base(roots[name])
        return len(parses) > before

    assert [parsed_loading(n) for n in "abcd"] == [True] * 4
    assert parsed_loading("a") is False  # remembered, and now the most recent
    assert parsed_loading("e") is True  # b, the least recent, is forgotten
    assert [parsed_loading(n) for n in "acd"] == [False] * 3
    assert parsed_loading("b") is True
