"""The committed JSON Schema files are what the pydantic models generate now."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from knowledge.json_schema import SCHEMA_DIR, SCHEMAS, main, render_schema, schema_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_the_committed_schema_is_what_the_model_generates(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")

    assert committed == render_schema(name), (
        f"knowledge/schema/{name}.schema.json is out of date: run `python -m knowledge.json_schema`"
    )


@pytest.mark.parametrize(
    ("name", "title", "required"),
    [
        ("gene", "pgx-cds-hooks gene table (knowledge/genes/<GENE>.yaml)", "gene"),
        ("drugs", "pgx-cds-hooks drug table (knowledge/drugs.yaml)", "drugs"),
        (
            "guideline",
            "pgx-cds-hooks guideline (knowledge/guidelines/<id>.yaml)",
            "recommendations",
        ),
    ],
)
def test_a_schema_names_itself_and_refuses_unknown_keys(
    name: str, title: str, required: str
) -> None:
    schema = schema_for(name)
    model = SCHEMAS[name][0]

    assert list(schema)[:3] == ["$schema", "$id", "title"]
    assert schema["$id"] == f"urn:pgx-cds-hooks:knowledge:{name}"
    assert schema["title"] == title
    assert list(schema["properties"]) == list(model.model_fields)
    assert required in schema["required"]
    assert schema["additionalProperties"] is False


def test_a_guideline_schema_lists_the_allowed_strengths() -> None:
    recommendation = schema_for("guideline")["$defs"]["Recommendation"]

    assert "strong" in recommendation["properties"]["strength"]["enum"]


def test_main_writes_each_file_with_a_final_newline_and_check_finds_a_stale_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["drugs.schema.json", "gene.schema.json", "guideline.schema.json"]
    text = (tmp_path / "gene.schema.json").read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == schema_for("gene")
    assert main(["--out", str(tmp_path), "--check"]) == 0

    (tmp_path / "gene.schema.json").write_text("{}\n", encoding="utf-8")

    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert "gene.schema.json: out of date" in capsys.readouterr().err
    assert (tmp_path / "gene.schema.json").read_text(encoding="utf-8") == "{}\n"


def test_the_schema_files_ship_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert "schema/*.json" in pyproject["tool"]["setuptools"]["package-data"]["knowledge"]
