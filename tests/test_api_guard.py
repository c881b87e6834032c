"""Cross-site requests and DNS rebinding: JSON-only POSTs, Origin check, Host allow-list.

A web page can send a "simple" cross-site POST (form-urlencoded or text/plain body) without a
CORS preflight; none of those may start a run or make a backup. A request whose Host is not a
known name (a rebound DNS name) is not served at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_guard import allowed_hosts
from api_server import ApiSettings, create_app
from data_flow.backup import list_backups
from tests.api_fixtures import LOCAL

EVIL = "http://evil.example"


@pytest.fixture
def config_name(settings_config: tuple[str, Path]) -> str:
    return settings_config[0]


def _nothing_happened(c: TestClient, tmp_path: Path) -> None:
    assert c.get("/api/jobs").json()["count"] == 0
    assert not (tmp_path / "backups").exists()


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/x-www-form-urlencoded", "a=1"),
        ("text/plain", '{"config_path": "x"}'),
        ("multipart/form-data; boundary=x", "--x--"),
    ],
)
def test_simple_cross_site_posts_are_refused(
    root: Path, tmp_path: Path, config_name: str, content_type: str, data: str
) -> None:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        for url in (f"/api/run-trading?config_path={config_name}", "/api/backup"):
            # what a form on another site sends: its Origin, a simple content type
            foreign = c.post(url, content=data, headers={"Content-Type": content_type,
                                                        "Origin": EVIL})  # fmt: skip
            assert foreign.status_code == 403, foreign.text
            assert foreign.json() == {
                "detail": "cross-origin request refused: Origin 'http://evil.example' is not "
                "allowed"
            }
            # the same without an Origin header (old browsers, privacy proxies)
            plain = c.post(url, content=data, headers={"Content-Type": content_type})
            assert plain.status_code == 415, plain.text
            assert plain.json() == {
                "detail": "Content-Type must be application/json for this request"
            }
        stop = c.post(
            "/api/stop/0123456789abcdef0123456789abcdef",
            content=data,
            headers={"Content-Type": content_type},
        )
        assert stop.status_code == 415
        _nothing_happened(c, tmp_path)


def test_a_foreign_origin_is_refused_even_with_a_json_body(root: Path, tmp_path: Path) -> None:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        for origin in (EVIL, "null", "http://localhost.evil.example", "https://localhost"):
            resp = c.post("/api/backup", json={}, headers={"Origin": origin})
            assert resp.status_code == 403, (origin, resp.text)
        _nothing_happened(c, tmp_path)


def test_same_origin_configured_origins_and_cli_clients_are_served(
    root: Path, tmp_path: Path
) -> None:
    settings = ApiSettings(data_root=root, cors_origins=["http://localhost:5173"])
    with TestClient(create_app(settings), base_url="http://localhost:8000") as c:
        for headers in (
            {"Origin": "http://localhost:8000"},  # the dashboard served at /app/
            {"Origin": "http://localhost:5173"},  # the Vite dev server (CORS origin)
            {},  # curl, scripts
        ):
            resp = c.post("/api/backup", json={}, headers=headers)
            assert resp.status_code == 200, (headers, resp.text)
        assert len(list_backups(tmp_path / "backups")) == 3
        charset = c.post(
            "/api/stop/0123456789abcdef0123456789abcdef",
            content=b"",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        assert charset.status_code == 404  # past the guard: an unknown job


def test_run_trading_takes_its_parameters_from_the_json_body_only(
    root: Path, config_name: str
) -> None:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        resp = c.post(f"/api/run-trading?config_path={config_name}", json={})
        assert resp.status_code == 422
        assert resp.json() == {"detail": "config_path: required (relative to settings/)"}
        assert c.get("/api/jobs").json()["count"] == 0


def test_unknown_host_is_not_served(root: Path) -> None:
    with TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL) as c:
        for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"):
            assert c.get("/", headers={"Host": host}).status_code == 200, host
        for host in ("attacker.example", "attacker.example:8000", "127.0.0.2", "localhost.evil"):
            resp = c.get("/api/jobs", headers={"Host": host})
            assert (resp.status_code, resp.text) == (400, "Invalid host header"), host
            post = c.post("/api/backup", json={}, headers={"Host": host})
            assert post.status_code == 400
        assert c.get("/docs", headers={"Host": "attacker.example"}).status_code == 400


def test_allowed_hosts_from_env_and_bind_host(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert allowed_hosts() == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts(["Arena.Lan", "::1", "10.0.0.7"], bind_host="0.0.0.0") == [
        "localhost", "127.0.0.1", "[::1]", "arena.lan", "10.0.0.7",
    ]  # fmt: skip
    assert allowed_hosts(bind_host="fe80::1")[-1] == "[fe80::1]"
    monkeypatch.setenv("ARENA_DATA_ROOT", str(root))
    monkeypatch.setenv("ARENA_ALLOWED_HOSTS", "arena.lan, *.corp.example")
    settings = ApiSettings.from_env()
    assert settings.allowed_hosts[-2:] == ["arena.lan", "*.corp.example"]
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        for host in ("arena.lan:8000", "box.corp.example", "localhost"):
            assert c.get("/", headers={"Host": host}).status_code == 200, host
        assert c.get("/", headers={"Host": "attacker.example"}).status_code == 400
