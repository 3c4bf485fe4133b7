"""Checks that need the whole playbook: names that must exist elsewhere, ids that must be unique."""

from __future__ import annotations

from collections.abc import Iterator

from agent.playbook.models import (
    EXPERIMENT_VARIANTS,
    STAGES,
    EventFilter,
    EventPattern,
    Playbook,
)

Path = tuple[str | int, ...]


def reference_problems(playbook: Playbook) -> list[tuple[Path, str]]:
    """Every broken cross-reference, as (YAML path, message)."""
    known = set(playbook.signals)
    problems: list[tuple[Path, str]] = []

    def check_signals(path: Path, signals: list[str]) -> None:
        for i, name in enumerate(signals):
            if name not in known:
                problems.append(((*path, "signals", i), _unknown_signal(name, known)))

    def check_signals_at(path: Path, signals: list[str]) -> None:
        for i, name in enumerate(signals):
            if name not in known:
                problems.append(((*path, i), _unknown_signal(name, known)))

    for i, mapping in enumerate(playbook.event_mappings):
        if mapping.signal not in known:
            problems.append(
                (("event_mappings", i, "signal"), _unknown_signal(mapping.signal, known))
            )
    for i, stage_rule in enumerate(playbook.stages.rules):
        for path, pattern in _filters(("stages", "rules", i, "when"), stage_rule.when):
            check_signals(path, pattern.signals)
    for i, action_rule in enumerate(playbook.action_rules):
        if action_rule.when.event is not None:
            for path, pattern in _filters(
                ("action_rules", i, "when", "event"), action_rule.when.event
            ):
                check_signals(path, pattern.signals)

        if action_rule.reset is not None:
            path = ("action_rules", i, "reset")
            check_signals_at((*path, "by"), action_rule.reset.by)
            check_signals_at((*path, "renewed_by"), action_rule.reset.renewed_by)

    if playbook.accounts.engaged_signals is not None:
        check_signals_at(("accounts", "engaged_signals"), playbook.accounts.engaged_signals)

    problems += _duplicate_ids("event_mappings", [m.id for m in playbook.event_mappings])
    problems += _duplicate_ids(("stages", "rules"), [r.id for r in playbook.stages.rules])
    problems += _duplicate_ids("action_rules", [r.id for r in playbook.action_rules])
    problems += _experiment_problems(playbook)
    fit_ids = [
        (g, r, rule.id)
        for g, group in enumerate(playbook.scoring.fit.groups)
        for r, rule in enumerate(group.rules)
    ]
    seen: set[str] = set()
    for g, r, rule_id in fit_ids:
        if rule_id in seen:
            problems.append(
                (
                    ("scoring", "fit", "groups", g, "rules", r, "id"),
                    f"duplicate rule id '{rule_id}'",
                )
            )
        seen.add(rule_id)

    last = len(playbook.action_rules) - 1
    if playbook.action_rules[last].when.always is None:
        problems.append(
            (
                ("action_rules", last, "when"),
                "the last action rule must be 'when: {always: true}' so every lead gets an action",
            )
        )
    return problems


def _filters(path: Path, pattern: EventPattern) -> Iterator[tuple[Path, EventFilter]]:
    yield path, pattern
    if pattern.unless_followed_by is not None:
        yield (*path, "unless_followed_by"), pattern.unless_followed_by


def _duplicate_ids(section: str | Path, ids: list[str]) -> list[tuple[Path, str]]:
    base: Path = (section,) if isinstance(section, str) else section
    seen: set[str] = set()
    problems = []
    for i, rule_id in enumerate(ids):
        if rule_id in seen:
            problems.append(((*base, i, "id"), f"duplicate rule id '{rule_id}'"))
        seen.add(rule_id)
    return problems


def _unknown_signal(name: str, known: set[str]) -> str:
    return f"unknown signal '{name}' (the signals section defines: {', '.join(sorted(known))})"


def _experiment_problems(playbook: Playbook) -> list[tuple[Path, str]]:
    """Variants the drafter does not know, and two experiments varying one element at one stage
    (a lead would be in both, and neither result would say what made the difference)."""
    problems: list[tuple[Path, str]] = []
    claimed: dict[tuple[str, str], str] = {}
    for i, experiment in enumerate(playbook.experiments):
        known = EXPERIMENT_VARIANTS[experiment.element]
        for j, variant in enumerate(experiment.variants):
            if variant not in known:
                message = (
                    f"'{variant}' is not a value of {experiment.element} the drafter knows "
                    f"(known: {', '.join(known)})"
                )
                problems.append((("experiments", i, "variants", j), message))
            elif variant in experiment.variants[:j]:
                problems.append((("experiments", i, "variants", j), f"'{variant}' is named twice"))
        for stage in experiment.stages or STAGES:
            other = claimed.setdefault((experiment.element, stage), experiment.id)
            if other != experiment.id:
                message = f"{experiment.element} at stage {stage} is already tested by '{other}'"
                problems.append((("experiments", i, "element"), message))
                break
    problems += _duplicate_ids("experiments", [e.id for e in playbook.experiments])
    return problems
