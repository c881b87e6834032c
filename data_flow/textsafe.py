"""Text that is always storable as UTF-8.

A model can send a lone UTF-16 surrogate, e.g. the JSON escape "\\ud800" without its partner.
Python keeps it in a `str`, but such a string cannot be encoded as UTF-8, so writing it to the
decision log, the ledger, an HTTP body or an API response would raise `UnicodeEncodeError`.

The arena replaces every lone surrogate by U+FFFD (the Unicode replacement character) where
outside text enters (the LLM clients' parsing, tool arguments and results) and where records
leave (the JSONL writers of `fsio` and `decision_log`, `fsio.atomic_write_text`, the live API's
JSON bodies and log reader). A high+low pair that arrived as two code points is joined into the
one character it encodes. The raw `arguments` text of a tool call is kept as sent, so an
escaped "\\ud800" in it stays visible in the log.
"""

from __future__ import annotations

from typing import Any


def scrub_text(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD (the same object when there are none)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # a C-speed check, faster than a regex search for surrogates
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def scrub(value: Any) -> Any:
    """`scrub_text` applied to every string (keys included) inside dicts, lists and tuples."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def utf8(text: str) -> bytes:
    """UTF-8 bytes of `text`; lone surrogates become U+FFFD instead of raising."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return scrub_text(text).encode("utf-8")
