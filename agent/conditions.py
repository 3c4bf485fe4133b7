"""Evaluates playbook conditions against event properties and lead attributes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agent.playbook.models import AttributeCondition, Condition, PropertyCondition

_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


def property_conditions_hold(
    conditions: Iterable[PropertyCondition], props: Mapping[str, Any]
) -> bool:
    return all(holds(c, props.get(c.property)) for c in conditions)


def attribute_conditions_hold(
    conditions: Iterable[AttributeCondition], attributes: Mapping[str, Any]
) -> bool:
    return all(holds(c, attributes.get(c.attribute)) for c in conditions)


def holds(condition: Condition, value: Any) -> bool:
    """True when `value` passes every test the condition gives. A missing value passes none."""
    if value is None:
        return False
    if condition.equals is not None and not _equal(value, condition.equals):
        return False
    if condition.in_ is not None and not any(_equal(value, option) for option in condition.in_):
        return False
    if condition.gte is not None or condition.lte is not None:
        number = _number(value)
        if number is None:
            return False
        if condition.gte is not None and number < condition.gte:
            return False
        if condition.lte is not None and number > condition.lte:
            return False
    return condition.matches is None or condition.matches.search(str(value)) is not None


def _equal(value: Any, target: Any) -> bool:
    # Imported data (CSV, forms) carries booleans and numbers as text, so compare by meaning.
    if isinstance(target, bool):
        if isinstance(value, bool):
            return value is target
        if isinstance(value, str):
            text = value.strip().casefold()
            return text in (_TRUE if target else _FALSE)
        return False
    if isinstance(target, int | float):
        number = _number(value)
        return number is not None and number == target
    return str(value).strip().casefold() == str(target).strip().casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    return None
