"""Reads a playbook YAML file into a validated `Playbook`, or fails with errors that name the
YAML path and line of every problem, so the person who edited the file can fix it directly."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from agent.errors import NurtureError
from agent.playbook.models import Playbook
from agent.playbook.references import reference_problems
from agent.store.values import shown, text_problem

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int | None
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class PlaybookError(NurtureError):
    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = [p.render(source) for p in problems]
        super().__init__(f"{len(problems)} problem(s) in the playbook:\n" + "\n".join(lines))


def load_playbook(path: Path | str) -> Playbook:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NurtureError(f"cannot read playbook {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = Problem("", line, f"not valid UTF-8 (byte {exc.start}): save the file as UTF-8")
        raise PlaybookError(str(path), [problem]) from None
    return parse_playbook(text, source=str(path))


def parse_playbook(text: str, *, source: str = "<playbook>") -> Playbook:
    root, loader = _compose(text, source)
    try:
        if root is None:
            raise PlaybookError(source, [Problem("", None, "the file is empty")])
        duplicates = _duplicate_keys(root, ())
        if duplicates:
            raise PlaybookError(source, duplicates)
        try:
            # the data from the very node tree the lines came from: the text is parsed once
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:  # composes, but cannot be built (e.g. an unknown !tag)
            raise PlaybookError(source, [_yaml_problem(exc)]) from exc
    finally:
        loader.dispose()
    unstorable = [problem_at(root, path, message) for path, message in _bad_text(data)]
    if unstorable:
        raise PlaybookError(source, unstorable)
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        problems = [problem_at(root, tuple(err["loc"]), error_message(err)) for err in exc.errors()]
        raise PlaybookError(source, problems) from None
    broken = [problem_at(root, path, message) for path, message in reference_problems(playbook)]
    if broken:
        raise PlaybookError(source, broken)
    return playbook


# libyaml's parser reads the default playbook in ~3 ms, PyYAML's own in ~50 ms: most of what
# `nurture next` spent past its imports. The constructor and resolver are PyYAML's in both.
_FAST_LOADER: type[yaml.SafeLoader | yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


def _compose(text: str, source: str) -> tuple[yaml.Node | None, yaml.SafeLoader | yaml.CSafeLoader]:
    """The YAML node tree of `text`, and the loader that composed it (it builds the data)."""
    try:
        fast = _FAST_LOADER(text)
        return fast.get_single_node(), fast
    except (yaml.YAMLError, ValueError):  # ValueError: a lone surrogate cannot go to libyaml
        pass  # libyaml words its errors otherwise: PyYAML's parser says what it always said
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses unprintable characters already here
        return loader.get_single_node(), loader
    except yaml.YAMLError as exc:
        raise PlaybookError(source, [_yaml_problem(exc)]) from exc


def _bad_text(data: object) -> list[tuple[YamlPath, str]]:
    """Keys and strings that YAML escapes (`"\\0"`, `"\\ud800"`) turned into NUL or a lone
    surrogate: decisions and drafts quote the playbook, and the store cannot keep either."""
    found: list[tuple[YamlPath, str]] = []
    todo: list[tuple[YamlPath, object]] = [((), data)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                found.append((path, problem))
        elif isinstance(value, dict):
            for key, child in value.items():
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    found.append(((*path, key), f"the key {problem}"))
                todo.append(((*path, key), child))
        elif isinstance(value, list):
            todo.extend(((*path, i), child) for i, child in enumerate(value))
    return sorted(found, key=lambda item: str(item[0]))


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return Problem("", mark.line + 1 if mark else None, f"not valid YAML: {problem}")


def fingerprint(playbook: Playbook) -> str:
    """A short hash of everything that decides an event's signal and points or a lead's fit."""
    if playbook._fingerprint is not None:  # a playbook is immutable: hash it once
        return playbook._fingerprint
    relevant = playbook.model_dump(
        mode="json", include={"signals", "event_mappings", "scoring"}, by_alias=True
    )
    digest = hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode())
    playbook._fingerprint = digest.hexdigest()[:16]
    return playbook._fingerprint


def error_message(err: ErrorDetails) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling; unknown keys are not ignored)"
    if err["type"] == "missing":
        return "required key is missing"
    return str(err["msg"]).removeprefix("Value error, ")


def problem_at(root: yaml.Node, loc: YamlPath, message: str) -> Problem:
    path, node = _follow(root, loc)
    return Problem(_render_path(path), node.start_mark.line + 1, message)


def _follow(root: yaml.Node, loc: YamlPath) -> tuple[YamlPath, yaml.Node]:
    """Walks the YAML node tree along a pydantic error location, as deep as the YAML goes.

    Pydantic adds steps that are not in the YAML (union branch names such as 'function-after');
    those are skipped, so the line is the deepest YAML node the error belongs to."""
    node = root
    walked: list[str | int] = []
    for step in loc:
        child = _child(node, step)
        if child is None:
            if isinstance(node, yaml.MappingNode) and isinstance(step, str) and step.isidentifier():
                walked.append(step)  # a missing key: name it, keep the parent's line
                break
            continue
        walked.append(step)
        node = child
    return tuple(walked), node


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value  # the stubs leave .value untyped
        for key, value in pairs:
            if key.value == str(step):
                return value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        items: list[yaml.Node] = node.value
        return items[step]
    return None


def _duplicate_keys(node: yaml.Node, path: YamlPath) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                problems.append(
                    Problem(
                        _render_path((*path, key.value)),
                        key.start_mark.line + 1,
                        "duplicate key (the later one would silently win)",
                    )
                )
            seen.add(key.value)
            problems += _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*path, i))
    return problems


def _render_path(path: YamlPath) -> str:
    out = ""
    for step in path:
        name = shown(str(step))  # a key may hold the very text that is the problem
        out += f"[{step}]" if isinstance(step, int) else (f".{name}" if out else name)
    return out
