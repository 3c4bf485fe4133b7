"""Checks on the decision behind a draft: the right action at the right stage, and content of a
kind the playbook allows for it."""

from __future__ import annotations

from evals.checks.model import CheckInput, CheckResult

_EMAILING = ("send_email", "re_engage")


def action_and_stage(inp: CheckInput) -> CheckResult:
    got = f"stage {inp.stage}, action {inp.action}"
    if (inp.stage, inp.action) == (inp.expect.stage, inp.expect.action):
        return CheckResult("action_and_stage", True, got)
    want = f"stage {inp.expect.stage}, action {inp.expect.action}"
    return CheckResult("action_and_stage", False, f"{got}; expected {want}")


def allowed_kinds(inp: CheckInput) -> tuple[str, ...]:
    """The kinds this draft may carry, chosen the way `agent.decisions` chooses them: a scenario
    rule's own kinds (which the case names), else re-engagement kinds, else the stage's kinds."""
    if inp.expect.content_kinds:
        return inp.expect.content_kinds
    if inp.action == "re_engage":
        return tuple(inp.content.re_engage_kinds)
    return tuple(inp.content.stage_kinds[inp.stage])


def content_kind(inp: CheckInput) -> CheckResult:
    if inp.action not in _EMAILING:
        if inp.content_kinds or inp.cited_asset_ids:
            return CheckResult(
                "content_kind", False, f"action {inp.action} sends nothing, yet content was chosen"
            )
        return CheckResult("content_kind", True, f"action {inp.action} sends no content")
    allowed = allowed_kinds(inp)
    problems = []
    asked = [k for k in inp.content_kinds if k not in allowed]
    if asked:
        problems.append(f"the decision asked for {', '.join(asked)}")
    given = {a.asset_id for a in inp.assets}
    unknown = [a for a in inp.cited_asset_ids if a not in given]
    if unknown:
        problems.append(f"cites assets it was not given: {', '.join(unknown)}")
    if not inp.cited_asset_ids:
        problems.append("cites no asset")
    off = [f"{a.asset_id} ({a.kind})" for a in inp.cited() if a.kind not in allowed]
    if off:
        problems.append(f"cites {', '.join(off)}")
    fit = f"{inp.action} at {inp.stage} allows {', '.join(allowed)}"
    if problems:
        return CheckResult("content_kind", False, f"{fit}; " + "; ".join(problems))
    kinds = ", ".join(sorted({a.kind for a in inp.cited()}))
    return CheckResult("content_kind", True, f"{fit}; cites {kinds}")
