"""The dev extra holds only what is used, and the benchmark docs state the benchmark's facts."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from types import ModuleType

import uvicorn.config

from settings.config import PROJECT_ROOT

# How each dev requirement is used: an import in tests/ or bench/, or a tool/plugin setting.
USED_AS_SETTING = {"pytest-timeout": "timeout = ", "ruff": "[tool.ruff]"}
IMPORT_NAME = {"pytest": "pytest", "hypothesis": "hypothesis", "schemathesis": "schemathesis"}


async def _app(scope: dict, receive: object, send: object) -> None:
    """A do-nothing ASGI app: enough for uvicorn to resolve its protocol classes."""


def _bench_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_api", PROJECT_ROOT / "bench/bench_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_dev_requirement_is_used() -> None:
    pyproject_text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    dev = tomllib.loads(pyproject_text)["project"]["optional-dependencies"]["dev"]
    names = [re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0] for req in dev]
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("tests", "bench")
        for path in sorted((PROJECT_ROOT / folder).glob("*.py"))
    )
    unused = []
    for name in names:
        if name in USED_AS_SETTING:
            used = USED_AS_SETTING[name] in pyproject_text
        else:
            module = IMPORT_NAME.get(name, name.replace("-", "_"))
            used = re.search(rf"^\s*(import|from) {module}\b", sources, re.MULTILINE) is not None
        if not used:
            unused.append(name)
    assert unused == []
    assert sorted(names) == sorted(
        ["pytest", "pytest-timeout", "ruff", "hypothesis", "schemathesis", "httpx"]
    )


def test_bench_api_docs_match_its_defaults_and_server_stack() -> None:
    bench = _bench_api()
    assert bench.parse_args([]).connections == 4
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "(1 worker, asyncio + h11), `wrk` with 4 connections (the\nscript's default" in readme
    bench_doc = (PROJECT_ROOT / "bench" / "README_api.md").read_text(encoding="utf-8")
    assert "uvloop +" not in bench_doc and "asyncio event loop and the h11 HTTP parser" in bench_doc
    # What uvicorn's `auto` settings really pick here is what the docs say and the script records.
    config = uvicorn.config.Config(_app, loop="auto", http="auto")
    config.load()
    assert config.http_protocol_class.__name__ == "H11Protocol"
    assert importlib.util.find_spec("uvloop") is None
    assert bench.server_stack() == {"loop": "asyncio", "http": "h11"}
