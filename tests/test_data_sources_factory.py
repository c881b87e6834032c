"""make_source(config) picks the configured source without touching the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_flow.sources import MarketDataSource, make_source
from data_flow.sources.akshare_source import AkshareSource
from data_flow.sources.demo import DemoSource
from data_flow.sources.files import FilesSource
from settings.config import ConfigError, parse_config
from tests.data_helpers import demo_config_dict


def test_each_source_from_config(tmp_path: Path) -> None:
    demo = make_source(parse_config(demo_config_dict(tmp_path, data_config={"seed": 9})))
    assert isinstance(demo, DemoSource) and demo.seed == 9 and demo.synthetic
    files_cfg = demo_config_dict(tmp_path, data_config={"source": "files", "path": str(tmp_path)})
    files = make_source(parse_config(files_cfg))
    assert isinstance(files, FilesSource) and files.path == tmp_path and not files.synthetic
    ak_cfg = demo_config_dict(
        tmp_path, data_config={"source": "akshare", "request_timeout_seconds": 3}
    )
    ak = make_source(parse_config(ak_cfg))
    assert isinstance(ak, AkshareSource) and ak.timeout == 3
    assert ak.cache_dir == tmp_path / "cache" / "akshare"
    for source in (demo, files, ak):
        assert isinstance(source, MarketDataSource)


def test_files_source_needs_an_existing_directory(tmp_path: Path) -> None:
    cfg = demo_config_dict(
        tmp_path, data_config={"source": "files", "path": str(tmp_path / "nowhere")}
    )
    with pytest.raises(ConfigError, match=r"data_config\.path: directory not found"):
        make_source(parse_config(cfg))
