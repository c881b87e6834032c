"""Errors raised by the data layer."""

from settings.config import ArenaError


class DataUnavailableError(ArenaError):
    """Market data needed for a window could not be obtained (offline, missing, timed out)."""


class SnapshotError(ArenaError):
    """A snapshot could not be built, read or validated (e.g. lock wait exceeded)."""


class CorruptRecordError(ArenaError):
    """A record file has a damaged line that is not the (tolerated) torn last line."""
