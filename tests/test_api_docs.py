"""/docs and /redoc work offline: every script, style and icon they reference is served by the
app itself, and no page points to another host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server import ApiSettings, create_app
from tests.api_fixtures import LOCAL

REF_RE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_app(tmp_path: Path, page: str) -> None:
    with TestClient(create_app(ApiSettings(data_root=tmp_path)), base_url=LOCAL) as c:
        resp = c.get(page)
        assert resp.status_code == 200
        html = resp.text
        assert "http://" not in html and "https://" not in html and "//cdn" not in html
        refs = sorted({a or b for a, b in REF_RE.findall(html)})
        assert "/openapi.json" in refs
        assets = [r for r in refs if r != "/openapi.json"]
        assert assets, html
        for ref in refs:
            assert ref.startswith("/") and not ref.startswith("//"), ref
            asset = c.get(ref)
            assert asset.status_code == 200, ref
            assert len(asset.content) > 1000, ref
        if page == "/docs":
            assert set(assets) == {
                "/docs-assets/favicon.png",
                "/docs-assets/swagger-ui-bundle.js",
                "/docs-assets/swagger-ui.css",
            }
            js = c.get("/docs-assets/swagger-ui-bundle.js")
            assert "SwaggerUIBundle" in js.text
            assert js.headers["content-type"].startswith(("text/javascript", "application/js"))
