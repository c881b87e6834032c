"""Safe arithmetic for the `calculate` tool: an AST walker, never `eval`.

Allowed: int/float literals, + - * / // % **, unary + and -, parentheses, and the calls
abs(x), min(a, b, ...), max(a, b, ...), round(x[, ndigits]). Nothing else: no names,
attributes, subscripts, strings, comparisons, keyword arguments or comprehensions.
Bounds: expression length <= MAX_EXPRESSION_CHARS, nesting depth <= MAX_DEPTH, every
intermediate |value| <= MAX_MAGNITUDE, exponents |e| <= MAX_EXPONENT (so 9**9**9 fails fast).
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable

MAX_EXPRESSION_CHARS = 200
MAX_DEPTH = 32
MAX_MAGNITUDE = 1e15
MAX_EXPONENT = 64
MAX_ARGS = 32

Number = int | float


class CalcError(ValueError):
    """The expression is not allowed or cannot be evaluated; the message is for the model."""


def _check(value: Number) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalcError("only numbers are allowed")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalcError("result is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise CalcError(f"magnitude exceeds {MAX_MAGNITUDE:g}")
    return value


def _div(a: Number, b: Number) -> Number:
    if b == 0:
        raise CalcError("division by zero")
    return a / b


def _floordiv(a: Number, b: Number) -> Number:
    if b == 0:
        raise CalcError("division by zero")
    return a // b


def _mod(a: Number, b: Number) -> Number:
    if b == 0:
        raise CalcError("modulo by zero")
    return a % b


def _pow(a: Number, b: Number) -> Number:
    if abs(b) > MAX_EXPONENT:
        raise CalcError(f"exponent magnitude exceeds {MAX_EXPONENT}")
    if a == 0 and b < 0:
        raise CalcError("zero cannot be raised to a negative power")
    # |a ** b| = 10 ** (b * log10|a|): refuse before computing (2**-64 is fine, 0.1**-64 not)
    if a != 0 and b * math.log10(abs(a)) > math.log10(MAX_MAGNITUDE):
        raise CalcError(f"magnitude exceeds {MAX_MAGNITUDE:g}")
    result = a**b
    if isinstance(result, complex):
        raise CalcError("result is not a real number")
    return result


_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}


def _round(*args: Number) -> Number:
    if len(args) not in (1, 2):
        raise CalcError("round takes 1 or 2 arguments")
    if len(args) == 2:
        digits = args[1]
        if not isinstance(digits, int) or not -15 <= digits <= 15:
            raise CalcError("round's ndigits must be an integer between -15 and 15")
        return round(args[0], digits)
    return round(args[0])


def _abs(*args: Number) -> Number:
    if len(args) != 1:
        raise CalcError("abs takes 1 argument")
    return abs(args[0])


def _min(*args: Number) -> Number:
    if not args:
        raise CalcError("min needs at least 1 argument")
    return min(args)


def _max(*args: Number) -> Number:
    if not args:
        raise CalcError("max needs at least 1 argument")
    return max(args)


_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "abs": _abs,
    "min": _min,
    "max": _max,
    "round": _round,
}


def _eval(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalcError("expression is nested too deeply")
    if isinstance(node, ast.Expression):
        return _eval(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalcError("only numbers are allowed")
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _eval(node.operand, depth + 1)
        return _check(-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        op = _BINARY.get(type(node.op))
        if op is None:
            raise CalcError(f"operator {type(node.op).__name__} is not allowed")
        left = _eval(node.left, depth + 1)
        right = _eval(node.right, depth + 1)
        try:
            return _check(op(left, right))
        except OverflowError:
            raise CalcError(f"magnitude exceeds {MAX_MAGNITUDE:g}") from None
        except ZeroDivisionError as err:
            raise CalcError(str(err)) from None
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise CalcError("only abs, min, max and round can be called")
        if node.keywords:
            raise CalcError("keyword arguments are not allowed")
        if len(node.args) > MAX_ARGS:
            raise CalcError("too many arguments")
        args = [_eval(a, depth + 1) for a in node.args]
        return _check(_FUNCTIONS[node.func.id](*args))
    if isinstance(node, ast.Name):
        raise CalcError(f"names are not allowed: {node.id}")
    raise CalcError(f"{type(node).__name__} is not allowed")


def evaluate(expression: str) -> Number:
    """Value of an arithmetic `expression`. Raises CalcError with a message for the model."""
    if not isinstance(expression, str):
        raise CalcError("expression must be a string")
    text = expression.strip()
    if not text:
        raise CalcError("expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalcError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal" for "1e"
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as err:
        raise CalcError(
            f"not a valid arithmetic expression: {err.msg if isinstance(err, SyntaxError) else err}"
        ) from None
    except RecursionError:
        raise CalcError("expression is nested too deeply") from None
    return _eval(tree, 0)


def format_number(value: Number) -> str:
    """Compact text of a result: integers as-is, floats with up to 10 significant decimals."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}" if abs(value) >= 1e-4 else repr(value)
