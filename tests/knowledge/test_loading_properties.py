"""Property tests: whatever a knowledge file holds, loading refuses it with located errors, fast.

The loader must answer every broken file with ``KnowledgeLoadError`` whose errors each say
``file:line:col`` — never another exception, never a hang. Inputs are arbitrary YAML text, and the
real gene and guideline files mutated: keys dropped, values swapped for other types, lines
duplicated (duplicate keys), characters YAML refuses, huge numbers, and alias bombs.
"""

from __future__ import annotations

import copy
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge import KnowledgeBase, KnowledgeLoadError, load_knowledge_base
from knowledge.yaml_source import MAX_ALIAS_VALUES, MAX_DEPTH, load_plain, parse_yaml
from tests.knowledge.small_knowledge import GENES, GUIDELINES, build_small_knowledge
from tests.properties import examples

PROPERTY = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Far above what a 60 kB knowledge folder needs (~30 ms), far below a hang.
SECONDS = 3.0
LOCATED = re.compile(r":\d+:\d+: ")
TARGETS = [f"genes/{gene}.yaml" for gene in GENES] + [f"guidelines/{g}.yaml" for g in GUIDELINES]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_knowledge(tmp_path_factory.mktemp("knowledge") / "knowledge")


@pytest.fixture(scope="module")
def originals(base: Path) -> dict[str, str]:
    return {name: (base / name).read_text(encoding="utf-8") for name in TARGETS}


def _load_with(base: Path, name: str, text: str) -> KnowledgeBase | KnowledgeLoadError:
    """Load a copy of ``base`` whose file ``name`` holds ``text``: the knowledge, or the refusal."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "knowledge"
        shutil.copytree(base, root)
        (root / name).write_text(text, encoding="utf-8")
        started = time.perf_counter()
        try:
            result: KnowledgeBase | KnowledgeLoadError = load_knowledge_base(root)
        except KnowledgeLoadError as refused:
            result = refused
        assert time.perf_counter() - started < SECONDS
    return result


def _assert_located(refusal: KnowledgeLoadError) -> None:
    assert refusal.errors
    for error in refusal.errors:
        assert LOCATED.search(str(error)), str(error)


# -- strategies ------------------------------------------------------------------------------

# Characters YAML treats specially, so random text is more than one long scalar.
_SPECIAL = st.sampled_from([*"ab:- \n\t#&*!|>'\"[]{},?%@`\\0.e+", "\x00", "\ufeff", "é"])
# What a file can hold (UTF-8), and what a caller of parse_yaml can pass (lone surrogates too).
FILE_TEXT = st.text(alphabet=_SPECIAL | st.characters(codec="utf-8"), max_size=80)
YAML_TEXT = st.text(alphabet=_SPECIAL | st.characters(), max_size=80)
ODD_VALUES: list[Any] = [
    None,
    True,
    "",
    "é" * 3,
    "\u202e",
    0,
    -1,
    2**64,
    10**400,  # longer ones cannot be dumped (int digit limit); BAD_SCALARS writes one
    1e308,
    float("inf"),
    float("nan"),
    [],
    {},
    [None],
    {"": None},
    "*1/*1",
    "2001-02-30",
]
# Text substitutions that YAML libraries trip on; values of the real files are their targets.
BAD_SCALARS = [
    "1" + "0" * 5000,
    "!!int 0b",
    "!!float abc",
    "!!bool maybe",
    "!!timestamp 2001-02-30",
    "!!python/object:os.system x",
    "!!binary '!!'",
    "!foo x",
    "&a [*a]",
    "*nowhere",
    '"\\ud800"',
    "\x07",
    "[" * 2000,
    "{a: 1, a: 2}",
    "<<: {a: 1}",
    "? [a]\n  : b",
    "|\n\tx",
]


@st.composite
def mutated_data(draw: st.DrawFn, original: str) -> str:
    """The file's data with keys dropped and values replaced by other types, dumped again."""
    data = load_plain(original)
    places = list(_places(data))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        container, key = places[draw(st.integers(min_value=0, max_value=len(places) - 1))]
        if isinstance(container, dict) and draw(st.booleans()):
            container.pop(key, None)
        elif (key in container) if isinstance(container, dict) else key < len(container):
            container[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def mutated_text(draw: st.DrawFn, original: str) -> str:
    """The file's text with lines duplicated or dropped, and a value replaced by a hostile one."""
    lines = original.splitlines(keepends=True)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(["duplicate", "drop", "value", "insert"]))
        if action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "drop" and len(lines) > 1:
            del lines[at]
        elif action == "value" and ": " in lines[at]:
            key = lines[at].split(": ", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(BAD_SCALARS))}\n"
        else:
            lines.insert(at, draw(FILE_TEXT) + "\n")
    return "".join(lines)


def _places(value: Any) -> Iterator[tuple[Any, Any]]:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            items: Any = current.items()
        elif isinstance(current, list):
            items = enumerate(current)
        else:
            continue
        for key, child in list(items):
            yield current, key
            stack.append(child)


# -- properties ------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=examples(300))
@given(text=YAML_TEXT)
def test_any_text_parses_or_is_refused_with_a_location(text: str) -> None:
    document, errors = parse_yaml(text, "f.yaml")

    assert (document is None) == bool(errors)
    for error in errors:
        assert str(error).startswith("f.yaml:"), str(error)
        assert LOCATED.search(str(error)), str(error)


@settings(PROPERTY, max_examples=examples(60))
@given(data=st.data(), name=st.sampled_from(TARGETS))
def test_a_mutated_file_loads_or_is_refused_with_located_errors(
    base: Path, originals: dict[str, str], data: st.DataObject, name: str
) -> None:
    mutate = data.draw(st.sampled_from([mutated_data, mutated_text]))
    text = data.draw(mutate(originals[name]))

    result = _load_with(base, name, text)

    if isinstance(result, KnowledgeLoadError):
        _assert_located(result)


@settings(PROPERTY, max_examples=examples(40))
@given(text=FILE_TEXT, name=st.sampled_from(TARGETS))
def test_a_file_of_random_text_is_refused_with_located_errors(
    base: Path, text: str, name: str
) -> None:
    result = _load_with(base, name, text)

    assert isinstance(result, KnowledgeLoadError)
    _assert_located(result)


# -- regressions: each once crashed or hung the loader -----------------------------------------

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
HOSTILE = [
    pytest.param(LAUGHS, f"aliases expand to more than {MAX_ALIAS_VALUES} values", id="laughs"),
    pytest.param("a: &a [*a]\n", "the alias *a refers to a value that contains it", id="loop"),
    pytest.param("a: &a {b: *a}\n", "the alias *a refers to a value that contains it", id="loop2"),
    pytest.param("a: " + "[" * 100_000 + "]" * 100_000, f"more than {MAX_DEPTH} levels", id="deep"),
    pytest.param("- " * 100_000 + "x\n", f"more than {MAX_DEPTH} levels", id="deep block"),
    pytest.param("a: *x\n", "the alias *x names no anchor &x before it", id="no anchor"),
    pytest.param("a: 1" + "0" * 5000 + "\n", "is not a valid int", id="huge int"),
    pytest.param("a: 2001-02-30\n", "'2001-02-30' is not a valid timestamp", id="bad date"),
    pytest.param("a: !!bool maybe\n", "'maybe' is not a valid bool", id="bad bool"),
    pytest.param("a: !!python/object:os.system x\n", "python/object:os.system is not", id="py"),
    pytest.param("a: !!set {x}\n", "the tag tag:yaml.org,2002:set is not allowed", id="set"),
    pytest.param("<<: {a: 1}\n", "the tag tag:yaml.org,2002:merge is not allowed", id="merge"),
    pytest.param("a: \x00\n", "character 0x0000 is not allowed", id="NUL"),
    pytest.param("\ud800: 1\n", "character 0xd800 is not allowed", id="surrogate"),
    pytest.param("a: 1\n---\nb: 2\n", "a second document (---) follows the first", id="2 docs"),
    pytest.param("? [a]\n: 1\n", "a key is not plain text", id="list key"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_hostile_yaml_is_refused_fast_with_a_location(text: str, message: str) -> None:
    started = time.perf_counter()
    document, errors = parse_yaml(text, "f.yaml")

    assert time.perf_counter() - started < 1.0
    assert document is None
    assert len(errors) == 1
    assert LOCATED.search(str(errors[0]))
    assert message in str(errors[0])


def test_a_billion_laughs_guideline_is_refused_by_the_loader(base: Path) -> None:
    bomb = "".join(f"{line}\n" for line in LAUGHS.splitlines())
    bombs = bomb + "".join(f"x{i}: [*i, *i, *i, *i, *i, *i, *i, *i, *i]\n" for i in range(9))

    result = _load_with(base, TARGETS[-1], bombs)

    assert isinstance(result, KnowledgeLoadError)
    assert "aliases expand to more than" in str(result)


def test_anchors_within_the_limit_are_read_as_copies() -> None:
    document, errors = parse_yaml("a: &x {b: 1}\nc: *x\nd: [&y 2, *y]\n", "f.yaml")

    assert errors == []
    assert document is not None
    assert document.data == {"a": {"b": 1}, "c": {"b": 1}, "d": [2, 2]}
    assert str(document.location(("c", "b"))) == "f.yaml:2:4"
