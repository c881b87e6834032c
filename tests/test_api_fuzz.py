"""Property-based fuzzing of the OpenAPI schema (schemathesis + hypothesis): no 5xx.

`POST /api/run-trading` is excluded (it starts processes); every other operation is fuzzed
with schema-valid (positive) and schema-violating (negative) inputs against an app serving a
small generated data root. (schemathesis' own pytest plugin does not load under pytest 9, so
the operations' hypothesis strategies are driven directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api_server import ApiSettings, create_app
from tests.api_fixtures import write_scenario

EXCLUDED = {"POST /api/run-trading"}


def _labels() -> list[str]:
    spec = create_app(ApiSettings(data_root=Path("/nonexistent"))).openapi()
    labels = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops]
    return [label for label in labels if label not in EXCLUDED]


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "data"
    root.mkdir()
    write_scenario(root)
    mp = pytest.MonkeyPatch()
    mp.setenv("ARENA_BACKUP_DIR", str(base / "backups"))
    app = create_app(ApiSettings(data_root=root))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield {op.label: op for op in (r.ok() for r in schema.get_all_operations())}
    mp.undo()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", _labels())
def test_no_server_errors(operations: dict[str, Any], label: str, mode: GenerationMode) -> None:
    op = operations[label]

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call()
        assert response.status_code < 500, (case.path, case.query, case.body, response.text)

    try:
        run()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE
        pytest.skip(f"{label} has no input that could violate its schema")
