"""The calculate tool's evaluator: arithmetic only, bounded, never eval."""

from __future__ import annotations

import pytest

from agent_engine.calc import MAX_EXPRESSION_CHARS, CalcError, evaluate, format_number


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1+2*3", 7),
        ("(1+2)*3", 9),
        ("10/4", 2.5),
        ("10//4", 2),
        ("10 % 3", 1),
        ("2**10", 1024),
        ("-5 + +3", -2),
        ("--4", 4),
        ("abs(-3.5)", 3.5),
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("round(2.675, 2)", 2.67),
        ("round(7.5)", 8),
        ("1000000*0.2/125.5", 1000000 * 0.2 / 125.5),
        ("1e3 * 2", 2000.0),
        ("2**-2", 0.25),
        ("2**-64", 2**-64),  # a tiny result of a big base: not "magnitude exceeds"
        ("2 ** -64 ** 1", 2**-64),
    ],
    ids=lambda v: str(v),
)
def test_evaluates_arithmetic(expression: str, expected: float) -> None:
    assert evaluate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9**9**9", "exponent magnitude exceeds 64"),
        ("10**20", "magnitude exceeds 1e+15"),
        ("2**64", "magnitude exceeds 1e+15"),
        ("99999999999999999", "magnitude exceeds 1e+15"),
        ("1e308*10", "magnitude exceeds 1e+15"),
        ("10**10**10", "exponent magnitude exceeds 64"),
        ("(1e-15)**-64", "magnitude exceeds 1e+15"),  # refused before computing
        ("1e-300**-2", "magnitude exceeds 1e+15"),  # was "(34, 'Numerical result out of range')"
        ("5e-324**-1", "magnitude exceeds 1e+15"),
        ("0.1**-64", "magnitude exceeds 1e+15"),
        ("1/0", "division by zero"),
        ("1//0", "division by zero"),
        ("5 % 0", "modulo by zero"),
        ("0**-1", "zero cannot be raised to a negative power"),
        ("(-8)**0.5", "result is not a real number"),
        ("x + 1", "names are not allowed: x"),
        ("__import__('os')", "only abs, min, max and round can be called"),
        ("(1).real", "Attribute is not allowed"),
        ("[1, 2][0]", "Subscript is not allowed"),
        ("'a' * 3", "only numbers are allowed"),
        ("True + 1", "only numbers are allowed"),
        ("1 < 2", "Compare is not allowed"),
        ("abs(x=1)", "keyword arguments are not allowed"),
        ("abs(1, 2)", "abs takes 1 argument"),
        ("min()", "min needs at least 1 argument"),
        ("round(1.5, 99)", "round's ndigits must be an integer between -15 and 15"),
        ("1 +", "not a valid arithmetic expression"),
        ("", "expression is empty"),
        ("lambda: 1", "Lambda is not allowed"),
        ("1 if 1 else 2", "IfExp is not allowed"),
        ("1 << 3", "operator LShift is not allowed"),
        ("1" + "+1" * 120, f"longer than {MAX_EXPRESSION_CHARS} characters"),
        ("-" * 40 + "1", "nested too deeply"),
    ],
)
def test_rejects_unsafe_or_unbounded(expression: str, message: str) -> None:
    with pytest.raises(CalcError) as info:
        evaluate(expression)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        (2.0, "2"),
        (2.5, "2.5"),
        (1 / 3, "0.3333333333"),
        (1593.6254980079682, "1593.625498"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text
