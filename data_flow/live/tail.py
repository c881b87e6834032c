"""Incremental JSONL reading: parse only the bytes appended since the last read."""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_flow.textsafe import scrub

log = logging.getLogger(__name__)

# A JSON escape of a UTF-16 surrogate, or a surrogate encoded as (invalid) UTF-8 bytes, which
# json.loads decodes with "surrogatepass": either can give a lone surrogate that no response
# body could encode. The arena never writes them, but a line written by another tool might.
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What identifies one version of a file cheaply (no content read)."""

    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


class JsonlTail:
    """Follows one append-only JSONL file.

    `poll()` returns `(reset, new_records)`: `reset` is True when the file was replaced or
    shrank (the caller must drop what it built from earlier records). Only complete lines
    (ending in a newline) are parsed; a torn last line waits until its newline arrives.
    Damaged complete lines are skipped with a warning.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: FileStamp | None = None
        self._offset = 0

    @property
    def stamp(self) -> FileStamp | None:
        return self._stamp

    def poll(self) -> tuple[bool, list[dict[str, Any]]]:
        stamp = FileStamp.of(self.path)
        old = self._stamp
        if stamp == old:
            return False, []
        reset = False
        if stamp is None or old is None or stamp.ino != old.ino or stamp.size < self._offset:
            reset = old is not None
            self._offset = 0
        self._stamp = stamp
        if stamp is None or stamp.size == self._offset:
            return reset, []
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read(stamp.size - self._offset)
        except FileNotFoundError:
            self._stamp = None
            self._offset = 0
            return True, []
        end = data.rfind(b"\n")
        if end < 0:
            return reset, []
        self._offset += end + 1
        return reset, parse_lines(data[: end + 1], self.path)


def parse_lines(data: bytes, path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("skipping damaged line in %s", path)
            continue
        if isinstance(obj, dict):
            out.append(scrub(obj) if _SURROGATE_BYTES.search(raw) else obj)
    return out
