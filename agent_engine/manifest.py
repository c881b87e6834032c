"""Run manifest: `<data_root>/agent_data/<signature>/manifest.jsonl`.

One `run_start` line when an agent process starts a run and one `run_end` line when it stops,
enough to say later exactly what produced a result: the resolved config (env var *names*, never
key values), the code version (git commit when available), the prompt template's hash, the data
source and the start/end times. Written by the agent process (the only writer of its directory).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_flow.clock import now_iso
from data_flow.fsio import append_jsonl
from data_flow.records.paths import manifest_path
from settings.config import PROJECT_ROOT, ArenaConfig

__all__ = ["manifest_path"]
SCHEMA_VERSION = 1


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """The checked-out commit, read from `.git` directly (no subprocess); None when unknown."""
    git_dir = root / ".git"
    try:
        if git_dir.is_file():  # worktree / submodule: "gitdir: <path>"
            text = git_dir.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = (root / text.split(":", 1)[1].strip()).resolve()
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return head if _is_sha(head) else None
        ref = head.split(":", 1)[1].strip()
        ref_file = git_dir / ref
        if ref_file.is_file():
            sha = ref_file.read_text(encoding="utf-8").strip()
            return sha if _is_sha(sha) else None
        packed = git_dir / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref and _is_sha(parts[0]):
                    return parts[0]
    except OSError:
        return None
    return None


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def data_source_text(config: ArenaConfig) -> str:
    """A short description of where the market data comes from, e.g. 'demo(seed=42)'."""
    dc = config.data_config
    if dc.source == "demo":
        return f"demo(seed={dc.seed})"
    if dc.source == "files":
        return f"files:{config.data_path()}"
    return "akshare"


@dataclass
class RunManifest:
    """Writes the run_start / run_end pair of one agent run."""

    path: Path
    run_id: str
    signature: str

    @classmethod
    def open(cls, data_root: Path, signature: str) -> RunManifest:
        run_id = uuid.uuid4().hex[:16]
        return cls(manifest_path(data_root, signature), run_id, signature)

    def start(
        self,
        config: ArenaConfig,
        *,
        config_path: str | None,
        prompt_template_hash: str | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "run_start",
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "signature": self.signature,
            "config": config.public_dict(),
            "config_path": config_path,
            "code_version": git_commit(),
            "prompt_template_hash": prompt_template_hash,
            "data_source": data_source_text(config),
            "mode": config.mode,
            "started_at": now_iso(),
        }
        if extra:
            record.update(extra)
        append_jsonl(self.path, record)
        return record

    def end(self, status: str, windows_done: int, **extra: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "run_end",
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "signature": self.signature,
            "ended_at": now_iso(),
            "status": status,
            "windows_done": windows_done,
        }
        record.update(extra)
        append_jsonl(self.path, record)
        return record
