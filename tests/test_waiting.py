"""The shared wait_for helper: returns the first truthy value, fails naming what it waited for."""

from __future__ import annotations

import pytest

from tests.waiting import wait_for


def test_returns_the_first_truthy_value() -> None:
    values = iter([0, "", None, {"ready": True}, "later"])
    assert wait_for(lambda: next(values), 30, "a value", interval=0) == {"ready": True}
    assert next(values) == "later"  # no further calls once it succeeded


def test_past_the_deadline_it_looks_once_more_then_fails_with_what() -> None:
    calls: list[int] = []

    def never() -> bool:
        calls.append(1)
        return False

    with pytest.raises(AssertionError, match=r"^timed out after 0s waiting for the server$"):
        wait_for(never, 0, "the server")
    assert len(calls) == 2

    answers = iter([False, "just in time"])
    assert wait_for(lambda: next(answers), 0, "a late value") == "just in time"
