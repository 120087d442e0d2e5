"""deploy/Dockerfile and .dockerignore, read as text: the checks that need no Docker engine.

The image itself is built by ``docker build -f deploy/Dockerfile .`` (docs/deploy.md); here we
check what a build would trip over, and the promises the Kubernetes manifests rely on (non-root
numeric user, the port, the health path, the serve command).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from typing import Any

import click
import pytest
from werkzeug.routing import Map

from cds_hooks.cli import main
from tests.deploy.files import DEPLOY, ROOT, route_exists

DOCKERFILE = DEPLOY / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


def _instructions() -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(DOCKERFILE.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        pending.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            keyword, _, arguments = " ".join(pending).partition(" ")
            found.append(Instruction(keyword.upper(), arguments.strip(), start))
            pending = []
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in _instructions():
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _arg_defaults() -> dict[str, str]:
    defaults = {}
    for instruction in _instructions():
        if instruction.keyword == "ARG" and "=" in instruction.arguments:
            name, _, value = instruction.arguments.partition("=")
            defaults[name] = value
    return defaults


def _exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.arguments)
    assert isinstance(value, list), f"line {instruction.line}: use the exec (JSON) form"
    return [str(v) for v in value]


def test_base_images_are_pinned_by_version() -> None:
    defaults = _arg_defaults()
    for stage in _stages():
        image = stage[0].arguments.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], image)
        name, _, tag = image.partition(":")
        assert name == "python", image
        assert re.fullmatch(r"3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", tag), image


def test_final_stage_runs_as_a_numeric_non_root_user() -> None:
    users = [i.arguments for i in _stages()[-1] if i.keyword == "USER"]
    assert users, "the final stage has no USER: it would run as root"
    user, _, group = users[-1].partition(":")
    assert re.fullmatch(r"[1-9]\d*", user), f"{users[-1]}: give a numeric user id other than 0"
    assert re.fullmatch(r"([1-9]\d*)?", group), f"{users[-1]}: give a numeric group other than 0"


def test_kubernetes_runs_as_the_image_user(
    k8s_objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    user = next(i.arguments for i in reversed(_stages()[-1]) if i.keyword == "USER")
    pod = k8s_objects[("Deployment", "pgx-cds-hooks")]["spec"]["template"]["spec"]
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user


def test_no_add_instruction() -> None:
    """ADD fetches URLs and unpacks archives implicitly; COPY does only what it says."""
    assert [i.line for i in _instructions() if i.keyword == "ADD"] == []


def test_final_stage_installs_nothing() -> None:
    """No apt-get, pip or compiler in the runtime stage: it only receives the built virtualenv."""
    for instruction in _stages()[-1]:
        if instruction.keyword == "RUN":
            assert not re.search(r"\b(apt-get|apt|pip|gcc|make)\b", instruction.arguments), (
                instruction.line
            )


def _copy_sources() -> list[tuple[int, str]]:
    sources: list[tuple[int, str]] = []
    for instruction in _instructions():
        if instruction.keyword != "COPY" or "--from=" in instruction.arguments:
            continue
        words = [w for w in instruction.arguments.split() if not w.startswith("--")]
        sources.extend((instruction.line, source) for source in words[:-1])
    return sources


@pytest.mark.parametrize(("line", "source"), _copy_sources())
def test_copy_source_exists_and_is_in_the_build_context(line: int, source: str) -> None:
    assert (ROOT / source).exists(), f"line {line}: {source} does not exist"
    rules = [
        r.strip()
        for r in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if r.strip() and not r.startswith("#")
    ]
    # The last matching rule wins, as in Docker.
    included = True
    for rule in rules:
        negated = rule.startswith("!")
        pattern = rule.removeprefix("!")
        if fnmatch.fnmatch(source, pattern) or source.startswith(pattern + "/"):
            included = negated
    assert included, f"line {line}: .dockerignore leaves {source} out of the build context"


def test_dockerignore_is_an_allowlist() -> None:
    """Everything is left out first, so no virtualenv, database file or secret is ever sent."""
    rules = [
        r.strip()
        for r in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if r.strip() and not r.startswith("#")
    ]
    assert rules[0] == "*"
    assert not {"!.git", "!.venv", "!var", "!tests"} & set(rules)


def test_wheel_is_installed_with_the_postgres_extra() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    assert any("psycopg" in requirement for requirement in extras["postgres"])
    install = next(
        i.arguments for i in _instructions() if i.keyword == "RUN" and "pip install" in i.arguments
    )
    assert "[postgres]" in install
    assert "--constraint constraints.txt" in install
    assert "--only-binary=:all:" in install


def _serve_arguments() -> list[str]:
    """The pgx-cds command line the ENTRYPOINT runs, with the worker count given."""
    entrypoint = _exec_form(next(i for i in _instructions() if i.keyword == "ENTRYPOINT"))
    assert entrypoint[:2] == ["/bin/sh", "-c"], entrypoint
    words = shlex.split(entrypoint[2].replace('"${WEB_CONCURRENCY:-2}"', "2"))
    assert words[0] == "exec", "exec, so that gunicorn is PID 1 and gets SIGTERM"
    assert words[-1] == "$@"
    return words[1:-1]


def test_entrypoint_is_a_real_serve_command() -> None:
    program, command, *options = _serve_arguments()
    assert program == "pgx-cds"
    assert (
        program in tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    )
    with click.Context(main) as context:
        serve = main.get_command(context, command)
        assert serve is not None, f"pgx-cds has no command {command!r}"
        parsed = serve.make_context(command, list(options), parent=context)
    assert parsed.params["host"] == "0.0.0.0"
    assert parsed.params["workers"] == 2


def test_exposed_port_is_the_served_port() -> None:
    exposed = [i.arguments for i in _stages()[-1] if i.keyword == "EXPOSE"]
    options = _serve_arguments()
    assert exposed == [options[options.index("--port") + 1]]


def test_healthcheck_asks_a_route_of_the_app(url_map: Map) -> None:
    healthcheck = next(i for i in _stages()[-1] if i.keyword == "HEALTHCHECK")
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", healthcheck.arguments)
    assert match, healthcheck.arguments
    assert match[1] == "8080"
    assert route_exists(url_map, match[2])
