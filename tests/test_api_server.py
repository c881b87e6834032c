"""Health, configuration listings, security (token, CORS, bind), run-trading validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api_server
from api_guard import allowed_hosts
from api_server import ApiSettings, create_app
from settings.config import PROJECT_ROOT, SETTINGS_DIR
from tests.api_fixtures import LOCAL, scenario_config, write_scenario

TOKEN = "s3cret-token"
JSON = "application/json"


def test_health(root: Path) -> None:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        assert c.get("/").json() == {
            "status": "ok",
            "version": "0.1.0",
            "data_root": str(root),
            "active_jobs": 0,
        }
        assert c.get("/docs").status_code == 200
        ops = {
            op["operationId"]
            for path in c.get("/openapi.json").json()["paths"].values()
            for op in path.values()
        }
        assert {"health", "run_trading", "get_job", "list_jobs", "stop_job", "pnl_series",
                "model_stats", "current_positions", "recent_decisions", "stock_detail", "news",
                "list_models", "list_configs", "create_backup", "symbols", "list_experiments",
                "get_experiment", "list_arenas", "trades", "trades_csv", "pnl_series_csv",
                "corporate_actions", "orders",
                "live_stream", "metrics"} == ops  # fmt: skip


def test_models_and_configs(root: Path, settings_config: tuple[str, Path]) -> None:
    write_scenario(root, windows=1)
    name, _ = settings_config
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        models = c.get("/api/models", params={"config_path": name}).json()["data"]
        assert [(m["signature"], m["status"], m["has_records"]) for m in models] == [
            ("bh", "ready", False),
            ("mom", "ready", False),
        ]
        default = {m["signature"]: m for m in c.get("/api/models").json()["data"]}
        assert default["gpt-5"]["status"] == "missing_key"
        assert default["gpt-5"]["skip_reason"] == "OPENAI_API_KEY not set"
        assert default["baseline-momentum"]["status"] == "ready"
        configs = {x["config_path"]: x for x in c.get("/api/configs").json()["data"]}
        assert configs[name] == {
            "config_path": name,
            "description": "api test config",
            "init_date": "2025-11-03",
            "end_date": "2025-11-05",
            "mode": "replay",
            "source": "demo",
            "agents": ["bh", "mom"],
        }
        assert "default_config.json" in configs


def test_backup_endpoint(root: Path, tmp_path: Path) -> None:
    write_scenario(root, windows=2)
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        body = c.post("/api/backup", json={}).json()
    assert Path(body["backup_dir"]).parent == tmp_path / "backups"
    assert Path(body["archive"]).is_file() and Path(body["manifest"]).is_file()
    assert body["members"] > 10 and body["bytes"] == Path(body["archive"]).stat().st_size


def test_token_required_on_every_post(root: Path) -> None:
    app = create_app(ApiSettings(data_root=root, token=TOKEN))
    posts = [
        ("/api/run-trading", {"config_path": "default_config.json"}),
        ("/api/stop/0123456789abcdef0123456789abcdef", {}),
        ("/api/backup", {}),
    ]
    with TestClient(app, base_url=LOCAL) as c:
        for url, body in posts:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                resp = c.post(url, json=body, headers=headers)
                assert resp.status_code == 401, (url, headers)
                assert resp.headers["www-authenticate"] == "Bearer"
        ok = {"Authorization": f"Bearer {TOKEN}"}
        resp = c.post("/api/stop/0123456789abcdef0123456789abcdef", json={}, headers=ok)
        assert resp.status_code == 404
        assert c.get("/api/jobs").status_code == 200  # GETs stay open


def test_cors(root: Path) -> None:
    def preflight(app_settings: ApiSettings, origin: str) -> str | None:
        with TestClient(create_app(app_settings), base_url=LOCAL) as c:
            resp = c.options(
                "/api/jobs",
                headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
            )
            return resp.headers.get("access-control-allow-origin")

    assert preflight(ApiSettings(data_root=root), "http://localhost:5173") == (
        "http://localhost:5173"
    )
    assert preflight(ApiSettings(data_root=root), "http://evil.example") is None
    custom = ApiSettings(data_root=root, cors_origins=["http://dash.example"])
    assert preflight(custom, "http://dash.example") == "http://dash.example"


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARENA_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("ARENA_CORS_ORIGINS", "http://a.example, http://b.example")
    monkeypatch.setenv("ARENA_API_TOKEN", TOKEN)
    s = ApiSettings.from_env()
    assert (s.data_root, s.cors_origins, s.token) == (
        tmp_path.resolve(),
        ["http://a.example", "http://b.example"],
        TOKEN,
    )
    monkeypatch.delenv("ARENA_DATA_ROOT")
    assert ApiSettings.from_env().data_root == (SETTINGS_DIR.parent / "data_flow").resolve()


def test_refuses_public_bind_without_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ARENA_API_TOKEN", raising=False)
    assert api_server.main(["--host", "0.0.0.0"]) == 2
    assert "ARENA_API_TOKEN" in capsys.readouterr().err
    assert api_server.is_loopback("127.0.0.1") and api_server.is_loopback("::1")
    assert api_server.is_loopback("localhost") and not api_server.is_loopback("192.168.1.5")


def test_non_loopback_requests_need_a_token(root: Path) -> None:
    def get(app_settings: ApiSettings, server: str) -> int:
        app = create_app(app_settings)
        with TestClient(app, base_url=f"http://{server}") as c:
            return c.get("/api/jobs").status_code

    lan = allowed_hosts(["192.168.1.5"])
    no_token = ApiSettings(data_root=root, allowed_hosts=lan)
    assert get(no_token, "192.168.1.5") == 403
    assert get(no_token, "127.0.0.1") == 200
    assert get(ApiSettings(data_root=root, token=TOKEN, allowed_hosts=lan), "192.168.1.5") == 200


def test_serves_built_frontend(root: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<html>arena</html>", encoding="utf-8")
    app = create_app(ApiSettings(data_root=root, frontend_dist=dist))
    with TestClient(app, base_url=LOCAL) as c:
        assert c.get("/app/").text == "<html>arena</html>"
        assert c.get("/").json()["status"] == "ok"
        assert c.get("/app/../pyproject.toml").status_code == 404


@pytest.mark.parametrize(
    ("body", "params", "needle"),
    [
        ({"config_path": "../pyproject.toml"}, None, "config_path"),
        ({"config_path": "/etc/passwd"}, None, "config_path"),
        ({"config_path": "%2e%2e%2fpyproject.toml"}, None, "config"),
        ({"config_path": "runtime/x.json"}, None, "runtime"),
        ({"config_path": "no_such_config.json"}, None, "not found"),
        (None, {"config_path": "default_config.json"}, "body"),  # the query form is gone
        ({}, None, "config_path"),
        ({"config_path": "default_config.json", "signatures": ["a/b"]}, None, "signatures"),
        ({"config_path": "default_config.json", "signatures": ["zzz"]}, None, "signatures"),
        ({"config_path": "default_config.json", "extra": 1}, None, "extra"),
        (
            {
                "config_path": "default_config.json",
                "init_date": "2025-11-05",
                "end_date": "2025-11-03",
            },
            None,
            "end_date",
        ),
        ({"config_path": "default_config.json", "init_date": "yesterday"}, None, "init_date"),
    ],
)
def test_run_trading_rejects_bad_input(
    root: Path, body: dict | None, params: dict | None, needle: str
) -> None:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        if body is None:  # JSON content type, no body: the query string is not read
            resp = c.post("/api/run-trading", params=params, headers={"Content-Type": JSON})
        else:
            resp = c.post("/api/run-trading", json=body, params=params)
        assert resp.status_code == 422, resp.text
        assert needle in json.dumps(resp.json()["detail"])
        assert c.get("/api/jobs").json()["count"] == 0


def test_run_trading_names_the_bad_key(root: Path, settings_config: tuple[str, Path]) -> None:
    name, path = settings_config
    bad = scenario_config(root)
    bad["agent_config"] = {"max_stepz": 3}
    path.write_text(json.dumps(bad), encoding="utf-8")
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        resp = c.post("/api/run-trading", json={"config_path": name})
    assert resp.status_code == 422
    assert "agent_config.max_stepz: unknown key" in resp.json()["detail"]


def test_server_imports_no_agent_loop_or_llm_sdk() -> None:
    code = (
        "import sys, api_server\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('openai', 'anthropic', 'akshare',"
        " 'pandas') or m in ('agent_engine.loop', 'agent_engine.runner', 'agent_engine.llm')]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_dashboard_served_once_built_without_restart(root: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    app = create_app(ApiSettings(data_root=root, frontend_dist=dist))
    with TestClient(app, base_url=LOCAL) as c:
        missing = c.get("/app/")
        assert missing.status_code == 404
        assert "npm run build" in missing.text
        dist.mkdir()
        (dist / "index.html").write_text("<!doctype html><title>arena</title>", encoding="utf-8")
        built = c.get("/app/")
        assert built.status_code == 200
        assert "<title>arena</title>" in built.text
