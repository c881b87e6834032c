"""Crash-safe file writes and tolerant JSONL reads.

- Whole files: written to a temp sibling, fsynced, then `os.replace`d (readers never see a
  half-written file).
- JSONL: one writer per file; each record is one line, flushed and fsynced. A torn last line
  (the writer was killed mid-write) is tolerated on read and repaired before the next append.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from data_flow.errors import CorruptRecordError
from data_flow.textsafe import utf8

log = logging.getLogger(__name__)


def dumps_line(obj: Any) -> str:
    """Compact, deterministic JSON for one record line (no newline)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def line_bytes(obj: Any) -> bytes:
    """One record line as UTF-8 bytes with its newline; lone surrogates in its strings become
    U+FFFD (data_flow.textsafe), at no cost when there are none."""
    return utf8(dumps_line(obj) + "\n")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, utf8(text))


def atomic_write_json(path: Path, obj: Any, *, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def repair_torn_tail(path: Path) -> int:
    """Cut a partial last line (no trailing newline) left by a killed writer.

    Returns the number of bytes removed. A complete last line that ends with a newline is
    never touched.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return 0
        # Walk back to the last newline.
        block = 4096
        pos = size
        cut = 0
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                cut = pos + idx + 1
                break
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("repaired torn last line of %s (%d bytes removed)", path, size - cut)
    return size - cut


class JsonlAppender:
    """Append-only JSONL writer: repairs a torn tail on open; fsyncs every record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        repair_torn_tail(path)
        self._fh = open(path, "ab")  # noqa: SIM115 - kept open for the appender's life

    def append(self, record: Any) -> None:
        self._fh.write(line_bytes(record))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def append_jsonl(path: Path, record: Any) -> None:
    """Append one record to a JSONL file (open, repair tail, write, fsync, close)."""
    with JsonlAppender(path) as out:
        out.append(record)


def iter_jsonl(path: Path, *, strict: bool = False) -> Iterator[dict[str, Any]]:
    """Yield records; a torn last line is skipped. A bad line elsewhere is skipped with a
    warning, or raises CorruptRecordError when `strict`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    lines = data.split(b"\n")
    last_index = len(lines) - 1
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        if i == last_index:
            # No newline after it: the writer was killed mid-line. Even when the bytes parse
            # (only the newline is missing), `repair_torn_tail` will cut this line before the
            # next append, so readers must not count it either.
            log.warning("ignoring torn last line of %s", path)
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if strict:
                raise CorruptRecordError(f"{path}: line {i + 1} is not valid JSON") from None
            log.warning("skipping damaged line %d of %s", i + 1, path)
            continue
        if isinstance(obj, dict):
            yield obj


def read_jsonl(path: Path, *, strict: bool = False) -> list[dict[str, Any]]:
    return list(iter_jsonl(path, strict=strict))
