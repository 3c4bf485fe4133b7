"""Reads a suite file into a validated `Suite`, or fails naming the file, line, YAML path and
case of every problem, the way the playbook loader does (its locating helpers are reused)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar, overload

import yaml
from pydantic import ValidationError

from agent.errors import NurtureError
from agent.playbook.loader import error_message, problem_at
from evals.suites.model import Suite

S = TypeVar("S", bound=Suite)

SUITES = Path(__file__).parent
CORE = SUITES / "core.yaml"


class SuiteError(NurtureError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the suite:\n" + "\n".join(problems))


# Overloads, because a TypeVar cannot default to Suite when no model is given (Python 3.11).
@overload
def load_suite(path: Path | str = CORE) -> Suite: ...
@overload
def load_suite(path: Path | str = CORE, *, model: type[S]) -> S: ...
def load_suite(path: Path | str = CORE, model: type[Suite] = Suite) -> Suite:
    """`model` is Suite, or a subclass with stricter cases (harvested suites)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NurtureError(f"cannot read suite {path}: {exc.strerror or exc}") from exc
    return parse_suite(text, source=str(path), model=model)


@overload
def parse_suite(text: str, *, source: str = "<suite>") -> Suite: ...
@overload
def parse_suite(text: str, *, source: str = "<suite>", model: type[S]) -> S: ...
def parse_suite(text: str, *, source: str = "<suite>", model: type[Suite] = Suite) -> Suite:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise SuiteError(source, [f"{where}: not valid YAML: {exc}"]) from None
    if root is None or not isinstance(data, dict):
        raise SuiteError(source, [f"{source}: the file must be a mapping with name, now, cases"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = problem_at(root, loc, error_message(err)).render(source)
            problems.append(line + _case_named(data, loc))
        raise SuiteError(source, problems) from None


def _case_named(data: dict[str, object], loc: tuple[str | int, ...]) -> str:
    """' (case <id>)' when the problem sits inside a case that has an id: easier to find than
    an index into a list of forty."""
    if len(loc) < 2 or loc[0] != "cases" or not isinstance(loc[1], int):
        return ""
    cases = data.get("cases")
    if not isinstance(cases, list) or loc[1] >= len(cases) or not isinstance(cases[loc[1]], dict):
        return ""
    case_id = cases[loc[1]].get("id")
    return f" (case {case_id})" if case_id else ""
