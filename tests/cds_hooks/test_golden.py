"""Golden cards: the full answer to each bundled example, reviewed as a diff when it changes.

Regenerate with ``pytest tests/cds_hooks/test_golden.py --update-golden`` and read the diff.
The knowledge version (card ``extension``) changes with any knowledge file, so it is written as
``<knowledge version>``: the golden answers change only when the cards do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_hooks.demo import DemoCase, demo_cases
from knowledge import KnowledgeBase

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = demo_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_answer_matches_golden_file(
    client: FlaskClient, kb: KnowledgeBase, case: DemoCase, request: pytest.FixtureRequest
) -> None:
    response = client.post(f"/cds-services/{case.service}", json=case.request)
    got = json.dumps(response.get_json(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    got = got.replace(kb.version, "<knowledge version>")
    golden = GOLDEN / f"{case.name}.json"

    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert response.status_code == 200
    assert golden.read_text(encoding="utf-8") == got
