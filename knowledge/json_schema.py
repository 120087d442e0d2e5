"""JSON Schema of the knowledge files, generated from the pydantic models, for editors' autocompletion.

Run ``python -m knowledge.json_schema`` after changing ``knowledge/schema.py``; a test fails while
the committed files in ``knowledge/schema/`` differ from what the models give.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from knowledge.schema import DrugTable, GeneTable, Guideline

__all__ = ["SCHEMAS", "SCHEMA_DIR", "main", "render_schema", "schema_for"]

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"

# File stem → (model, title, the files it describes).
SCHEMAS: dict[str, tuple[type[BaseModel], str, str]] = {
    "gene": (GeneTable, "pgx-cds-hooks gene table", "knowledge/genes/<GENE>.yaml"),
    "drugs": (DrugTable, "pgx-cds-hooks drug table", "knowledge/drugs.yaml"),
    "guideline": (Guideline, "pgx-cds-hooks guideline", "knowledge/guidelines/<id>.yaml"),
}

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(name: str) -> dict[str, Any]:
    """The JSON Schema of one file kind (``gene``, ``drugs`` or ``guideline``)."""
    model, title, files = SCHEMAS[name]
    generated = model.model_json_schema()
    # Identification first, then pydantic's own (already deterministic) order.
    schema: dict[str, Any] = {
        "$schema": _DIALECT,
        "$id": f"urn:pgx-cds-hooks:knowledge:{name}",
        "title": f"{title} ({files})",
    }
    generated.pop("title", None)
    schema.update(generated)
    return schema


def render_schema(name: str) -> str:
    """The schema file's text: two-space indentation, non-ASCII kept, newline at the end."""
    return json.dumps(schema_for(name), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge.json_schema",
        description="Write the knowledge files' JSON Schema, generated from knowledge/schema.py.",
    )
    parser.add_argument(
        "--out", type=Path, default=SCHEMA_DIR, help="folder to write to (default: %(default)s)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a file differs from what the models generate",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    stale = []
    for name in SCHEMAS:
        path = out / f"{name}.schema.json"
        text = render_schema(name)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        verb = "out of date" if args.check else "written"
        print(f"{path}: {verb}", file=sys.stderr)
    if args.check and stale:
        print("Run `python -m knowledge.json_schema` and commit the result.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
