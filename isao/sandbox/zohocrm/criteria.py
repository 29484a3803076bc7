r"""Search criteria: ``(Field:op:value)`` joined by ``and`` / ``or``, values escaped with ``\``."""

from __future__ import annotations

import re

from isao.sandbox.zohocrm.constants import Json
from isao.sandbox.zohocrm.schema import _SYSTEM, Module

_OPERATORS = ("equals", "not_equal", "starts_with", "in", "greater_than", "less_than")
Criteria = tuple[str, str, str] | tuple[str, list["Criteria"]]


def _parse_criteria(text: str, module: Module) -> Criteria | str:
    """The parsed criteria, or the reason it is not one."""
    position = 0

    def group() -> Criteria:
        nonlocal position
        if position >= len(text) or text[position] != "(":
            raise ValueError(f"expected '(' at {position}")
        position += 1
        if position < len(text) and text[position] == "(":
            parts = [group()]
            joins: set[str] = set()
            while position < len(text) and text[position] != ")":
                match = re.match(r"\s*(and|or)\s*", text[position:], re.IGNORECASE)
                if match is None:
                    raise ValueError(f"expected 'and' or 'or' at {position}")
                joins.add(match.group(1).lower())
                position += match.end()
                parts.append(group())
            if len(joins) > 1:
                raise ValueError("mix of 'and' and 'or' in one group")
            position += 1
            return (joins.pop() if joins else "and", parts)
        chars: list[str] = []
        while position < len(text) and text[position] != ")":
            if text[position] == "\\" and position + 1 < len(text):
                chars.append("\0" + text[position + 1])
                position += 2
                continue
            chars.append(text[position])
            position += 1
        if position >= len(text):
            raise ValueError("unbalanced parentheses")
        position += 1
        pieces = "".join(chars).split(":", 2)
        if len(pieces) != 3:
            raise ValueError("a condition is (Field:operator:value)")
        field, operator, value = (p.replace("\0", "") for p in pieces)
        if field not in _SYSTEM and module.field(field) is None:
            raise ValueError(f"unknown field {field}")
        if operator not in _OPERATORS:
            raise ValueError(f"unsupported operator {operator}")
        return (field, operator, value)

    try:
        parsed = group()
        if position != len(text):
            raise ValueError(f"unexpected text at {position}")
    except ValueError as exc:
        return str(exc)
    return parsed


def _names(criteria: Criteria) -> set[str]:
    """The fields a criteria reads."""
    if len(criteria) == 3:
        return {str(criteria[0])}
    return set().union(*(_names(part) for part in criteria[1]))


def _evaluate(criteria: Criteria, record: Json) -> bool:
    if len(criteria) == 2:
        join, parts = criteria
        results = (_evaluate(part, record) for part in parts)
        return all(results) if join == "and" else any(results)
    field, operator, value = criteria
    stored = record.get(field)
    if isinstance(stored, dict):
        stored = stored.get("id")
    text = "" if stored is None else str(stored).lower()
    wanted = value.lower()
    if operator == "equals":
        return text == wanted
    if operator == "not_equal":
        return text != wanted
    if operator == "starts_with":
        return text.startswith(wanted)
    if operator == "in":
        return text in [v.strip().lower() for v in value.split(",")]
    try:
        number, limit = float(text), float(wanted)
    except ValueError:
        return text > wanted if operator == "greater_than" else text < wanted
    return number > limit if operator == "greater_than" else number < limit
