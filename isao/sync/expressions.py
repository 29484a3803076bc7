"""The small expression language of recipe mappings.

A mapped value is written in YAML as one of:

- a literal: ``Closed Won``, ``42``, ``true``;
- a template: ``WooCommerce Order #{id} ({billing.first_name} {billing.last_name})`` — each ``{…}`` is an
  expression; a template that is exactly one ``{expr}`` keeps the expression's type (a number stays a number);
- an expression inside the braces: paths into the record (``billing.email``, ``line_items[0].sku``),
  numbers and quoted strings, ``+ - * /`` (money arithmetic is exact: numbers become ``Decimal``), ``a or b``
  (the first that is not empty), ``a if cond else b`` with comparisons, and calls to named transforms
  (``e164(billing.phone, billing.country)``, ``first_name(name)``, ``items_summary(line_items)``).

Expressions are parsed with ``ast`` and evaluated by walking a whitelist of node types: there is no ``eval``,
no attribute access on Python objects, no imports. A path that does not exist yields ``None`` (a shop that
sends no ``shipping`` block is not an error); calling an unknown transform is an error at load time.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from isao.sync import transforms

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b if b is not None else False,
    ast.NotIn: lambda a, b: a not in b if b is not None else True,
}


class ExpressionError(ValueError):
    """An expression that cannot be parsed, or calls what is not a transform."""


@dataclass(frozen=True)
class Expression:
    source: str
    tree: ast.expr

    def __call__(self, record: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Any:
        return _evaluate(self.tree, record, context or {})


@dataclass(frozen=True)
class Template:
    """A string with ``{expr}`` placeholders (or none: then it is a literal)."""

    source: str
    parts: tuple[str | Expression, ...]

    def __call__(self, record: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Any:
        if len(self.parts) == 1 and isinstance(self.parts[0], Expression):
            return self.parts[0](record, context)
        return "".join(
            part if isinstance(part, str) else _text(part(record, context)) for part in self.parts
        ).strip()


def compile_expression(source: str) -> Expression:
    try:
        tree = ast.parse(f"(\n{source.strip()}\n)", mode="eval").body  # YAML folds long ones over lines
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {source!r}: {exc.msg}") from None
    _check(tree, source)
    return Expression(source, tree)


def compile_template(source: str) -> Template:
    parts: list[str | Expression] = []
    position = 0
    for match in _PLACEHOLDER.finditer(source):
        if match.start() > position:
            parts.append(source[position : match.start()])
        parts.append(compile_expression(match.group(1)))
        position = match.end()
    if position < len(source):
        parts.append(source[position:])
    return Template(source, tuple(parts) or ("",))


def _check(node: ast.AST, source: str) -> None:
    """Refuse anything outside the language, at load time, naming the offending piece."""
    allowed = (
        ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Or,
        ast.And, ast.Compare, ast.IfExp, ast.Call, ast.Load, ast.USub, ast.Not, ast.List, ast.Tuple,
        ast.keyword, *_BINARY, *_COMPARE,
    )  # fmt: skip
    for child in ast.walk(node):
        if not isinstance(child, allowed):
            raise ExpressionError(f"{source!r}: {type(child).__name__} is not allowed in a mapping")
        if isinstance(child, ast.Call):
            if not isinstance(child.func, ast.Name) or child.func.id not in transforms.REGISTRY:
                name = ast.unparse(child.func)
                known = ", ".join(sorted(transforms.REGISTRY))
                raise ExpressionError(f"{source!r}: unknown transform {name!r} (known: {known})")
        name = child.id if isinstance(child, ast.Name) else getattr(child, "attr", "")
        if name.startswith("_"):
            raise ExpressionError(f"{source!r}: names may not start with '_'")


def _evaluate(node: ast.expr, record: Mapping[str, Any], context: Mapping[str, Any]) -> Any:
    def walk(n: ast.expr) -> Any:
        match n:
            case ast.Constant(value=value):
                return value
            case ast.Name(id=name):
                if name in context:
                    return context[name]
                return record.get(name) if isinstance(record, Mapping) else None
            case ast.Attribute(value=inner, attr=attr):
                return _get(walk(inner), attr)
            case ast.Subscript(value=inner, slice=index):
                return _get(walk(inner), walk(index))
            case ast.BinOp(left=left, op=op, right=right):
                return _BINARY[type(op)](_number(walk(left)), _number(walk(right)))
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -_number(walk(operand))
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return not walk(operand)
            case ast.BoolOp(op=ast.Or(), values=operands):
                found = None
                for operand in operands:
                    found = walk(operand)
                    if found not in (None, "", [], {}):
                        return found
                return found
            case ast.BoolOp(op=ast.And(), values=operands):
                found = None
                for operand in operands:
                    found = walk(operand)
                    if not found:
                        return found
                return found
            case ast.Compare(left=left, ops=tests, comparators=comparators):
                current = walk(left)
                for test, comparator in zip(tests, comparators, strict=True):
                    other = walk(comparator)
                    if not _COMPARE[type(test)](*_comparable(current, other)):
                        return False
                    current = other
                return True
            case ast.IfExp(test=condition, body=body, orelse=orelse):
                return walk(body) if walk(condition) else walk(orelse)
            case ast.List(elts=items) | ast.Tuple(elts=items):
                return [walk(item) for item in items]
            case ast.Call(func=ast.Name(id=name), args=args, keywords=keywords):
                kwargs = {kw.arg: walk(kw.value) for kw in keywords if kw.arg}
                return transforms.REGISTRY[name](*(walk(arg) for arg in args), **kwargs)
        raise ExpressionError(f"cannot evaluate {ast.unparse(n)}")

    return walk(node)


def _get(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        return container.get(key)
    if isinstance(container, list | tuple) and isinstance(key, int):
        return container[key] if -len(container) <= key < len(container) else None
    return None


def _number(value: Any) -> Decimal:
    """Money arrives as strings ("12.50"); arithmetic on it is exact. Missing counts as zero."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ExpressionError(f"{value!r} is not a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ExpressionError(f"{value!r} is not a number") from None


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Compare "12.50" with 10 as numbers, as a recipe author means it."""
    numeric = (int, float, Decimal)
    if isinstance(a, numeric) != isinstance(b, numeric) and None not in (a, b):
        try:
            return _number(a), _number(b)
        except ExpressionError:
            return a, b
    return a, b


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
