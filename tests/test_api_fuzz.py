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
from schemathesis import GenerationMode

from api_server import ApiSettings, create_app
from tests.api_fixtures import LOCAL, write_scenario

EXCLUDED = {"POST /api/run-trading"}


def _cases() -> list[tuple[str, GenerationMode]]:
    """(operation, mode) pairs; negative inputs only where there is a query or body to break
    (a path-only string parameter cannot be made schema-invalid)."""
    spec = create_app(ApiSettings(data_root=Path("/nonexistent"))).openapi()
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            label = f"{method.upper()} {path}"
            if label in EXCLUDED:
                continue
            out.append((label, GenerationMode.POSITIVE))
            breakable = "requestBody" in op or any(
                p["in"] == "query" for p in op.get("parameters", [])
            )
            if breakable:
                out.append((label, GenerationMode.NEGATIVE))
    return out


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "data"
    root.mkdir()
    write_scenario(root)
    mp = pytest.MonkeyPatch()
    mp.setenv("ARENA_BACKUP_DIR", str(base / "backups"))
    app = create_app(ApiSettings(data_root=root))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers={"Host": "localhost"})
    yield {op.label: op for op in (r.ok() for r in schema.get_all_operations())}
    mp.undo()


@pytest.mark.parametrize(("label", "mode"), _cases())
def test_no_server_errors(operations: dict[str, Any], label: str, mode: GenerationMode) -> None:
    op = operations[label]

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        # a known Host (others get 400), and the JSON content type every POST must declare
        # (a POST without a body would otherwise only ever meet the 415 of api_guard)
        headers = {"Content-Type": "application/json"} if label.startswith("POST") else {}
        response = case.call(base_url=LOCAL, headers=headers)
        assert response.status_code < 500, (case.path, case.query, case.body, response.text)

    run()
