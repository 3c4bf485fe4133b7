"""An identify message's traits as lead fields and attributes.

Segment's reserved traits (https://segment.com/docs/connections/spec/identify/#traits) land
where the playbook reads them: email, name (or firstName + lastName), company (a name, or an
object with name, industry and employee_count), title, industry, employees, address.country.
Every other trait becomes an attribute under its own name; one level of nesting is flattened
(`plan.tier`), and a list becomes its values joined with ", "."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool | None

# traits read into fields (or into attributes under the playbook's own name) by lead_fields
USED = frozenset(
    {
        "email",
        "name",
        "firstName",
        "first_name",
        "lastName",
        "last_name",
        "company",
        "owner",
        "address",
        "employees",
        "employee_count",
        "employeeCount",
        "numberOfEmployees",
        "id",
    }
)
EMPLOYEES = ("employees", "employee_count", "employeeCount", "numberOfEmployees")


@dataclass(slots=True)
class TraitFields:
    """What the traits say; None where they say nothing (an identify may carry a few)."""

    email: str | None = None
    name: str | None = None
    company: str | None = None
    owner: str | None = None
    attributes: dict[str, Scalar] = field(default_factory=dict)


def lead_fields(traits: Mapping[str, Any]) -> TraitFields:
    fields = TraitFields(
        email=_text(traits.get("email")),
        name=_text(traits.get("name")) or _full_name(traits),
        owner=_text(traits.get("owner")),
    )
    company = traits.get("company")
    if isinstance(company, Mapping):
        fields.company = _text(company.get("name"))
        _put(fields.attributes, "industry", company.get("industry"))
        _put(fields.attributes, "employees", company.get("employee_count"))
        _flatten(fields.attributes, "company", company, skip={"name", "industry", "employee_count"})
    else:
        fields.company = _text(company)
    address = traits.get("address")
    if isinstance(address, Mapping):
        _put(fields.attributes, "country", address.get("country"))
        _flatten(fields.attributes, "address", address, skip={"country"})
    for name in EMPLOYEES:
        _put(fields.attributes, "employees", traits.get(name))
    for name, value in traits.items():
        if name in USED:
            continue
        if isinstance(value, Mapping):
            _flatten(fields.attributes, name, value)
        else:
            _put(fields.attributes, name, value, replace=True)
    return fields


def _full_name(traits: Mapping[str, Any]) -> str | None:
    first = _text(traits.get("firstName")) or _text(traits.get("first_name"))
    last = _text(traits.get("lastName")) or _text(traits.get("last_name"))
    joined = " ".join(part for part in (first, last) if part)
    return joined or None


def _flatten(
    attributes: dict[str, Scalar],
    prefix: str,
    values: Mapping[str, Any],
    skip: frozenset[str] | set[str] = frozenset(),
) -> None:
    for key, value in values.items():
        if key not in skip and not isinstance(value, Mapping):
            _put(attributes, f"{prefix}.{key}", value)


def _put(attributes: dict[str, Scalar], name: str, value: Any, *, replace: bool = False) -> None:
    """Sets an attribute from a trait; the first source of a name wins unless `replace`."""
    if value is None or (name in attributes and not replace):
        return
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value if item is not None)
    elif not isinstance(value, str | int | float | bool):
        value = str(value)
    attributes[name] = value


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None
