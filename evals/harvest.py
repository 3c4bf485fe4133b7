"""Learning from edits: drafts a marketer edited before approving become eval cases.

Each harvested case is the lead and its timeline as the agent saw them when it drafted, the
expectations the recorded decision answered (stage, action, rule, content kinds), and the approved
text as `reference`. Events are written relative to the moment of the decision (`ago:`), so the
case reads the same under any suite `now` and can sit next to hand-written cases.

Harvested cases are `HarvestedCase`: a `Case` whose `reference` and `source_approval_id` are
required. A harvested file is a suite like any other (`nurture eval run FILE`)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError
from sqlalchemy import select

from agent.decisions import decide
from agent.errors import NurtureError
from agent.playbook import Playbook
from agent.store.database import Database
from agent.store.schema import ApprovalRow, SendRow
from agent.timeline import Event, Lead
from agent.tools.timeline import load_timeline
from evals.suites.loader import CORE, load_suite
from evals.suites.model import Case, Reference, Suite, playbook_problems

log = logging.getLogger(__name__)

_SCALARS = (str, int, float, bool)
# needs_check: the SMTP server accepted it but the process stopped before recording so
SENT = frozenset({"sent", "needs_check"})
_UNSAFE_ID = re.compile(r"[^a-z0-9_.\-]+")
_UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60))
FILE_HEADER = (
    "# Harvested by `nurture eval harvest`: drafts that marketers edited before approving.\n"
    "# `reference` is the approved text; events are relative to the moment of the decision.\n"
)


class HarvestedCase(Case):
    reference: Reference = Field(description="The text the marketer approved after editing.")
    source_approval_id: str = Field(min_length=1, description="The approval it came from.")


class HarvestedSuite(Suite):
    cases: list[HarvestedCase] = Field(min_length=1)  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class HarvestResult:
    cases: list[HarvestedCase] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(approval id, why it was not harvested)."""


# --- harvesting ----------------------------------------------------------------------------------
def harvest(
    db: Database,
    playbook: Playbook,
    *,
    now: datetime,
    since: datetime | None = None,
    only_sent: bool = True,
) -> list[HarvestedCase]:
    """Cases from every approval answered with an edit (decided at or after `since`)."""
    return collect(db, playbook, now=now, since=since, only_sent=only_sent).cases


def collect(
    db: Database,
    playbook: Playbook,
    *,
    now: datetime,
    since: datetime | None = None,
    only_sent: bool = True,
) -> HarvestResult:
    """`harvest`, plus the edited approvals left out and why.

    With `only_sent`, an edit counts only once its text was sent: an edit that broke a guardrail
    goes back for review unsent, and a reference that breaks the rules would teach the wrong
    thing. `now` is the suite moment the cases will be decided at: every case is replayed there
    with `playbook`, and one the playbook no longer decides as recorded is skipped, because its
    expectations would fail on the playbook change rather than on the draft."""
    query = (
        select(ApprovalRow, SendRow.status)
        .outerjoin(SendRow, SendRow.approval_id == ApprovalRow.id)
        .where(ApprovalRow.answer == "edit")
    )
    if since is not None:
        query = query.where(ApprovalRow.decided_at >= since)
    with db.session() as session:
        rows = list(session.execute(query.order_by(ApprovalRow.decided_at, ApprovalRow.id)))

    result = HarvestResult()
    for row, send_status in rows:
        if only_sent and send_status not in SENT:
            result.skipped.append(
                (row.id, f"its edited text was not sent ({send_status or 'no send'})")
            )
            continue
        try:
            case = case_from_approval(db, row)
        except (NurtureError, ValidationError, KeyError, IndexError, TypeError, ValueError) as exc:
            result.skipped.append((row.id, f"cannot be made a case: {exc}"))
            continue
        problem = _replay_problem(case, playbook, now)
        if problem:
            result.skipped.append((row.id, problem))
            continue
        result.cases.append(case)
    for approval_id, reason in result.skipped:
        log.warning("not harvested: approval %s %s", approval_id, reason)
    return result


def case_from_approval(db: Database, row: ApprovalRow) -> HarvestedCase:
    """One edited approval as a case: its lead and timeline as of the decision behind it."""
    if row.final_subject is None or row.final_body is None:
        raise ValueError("it has no approved text")
    decision: dict[str, Any] = row.decision
    # The decision's own moment, not the row's: the timeline must be the one that was decided on.
    anchor = datetime.fromisoformat(decision["at"]) if decision.get("at") else row.created_at
    lead, events = load_timeline(db, row.lead_id, until=anchor)
    content = decision.get("content") or {}
    expect: dict[str, Any] = {
        "stage": decision["stage"],
        "action": decision["action"],
        "rule": decision["reasons"][0]["rule"],
        "personalise_on": _personalise_on(lead, content.get("topic")),
    }
    if content.get("kinds"):
        expect["content_kinds"] = list(content["kinds"])
    return HarvestedCase.model_validate(
        {
            "id": case_id(row.id, row.lead_id),
            "description": _description(row, lead),
            "lead": _lead_in(lead),
            "events": [_event_in(e, anchor) for e in events],
            "expect": expect,
            "reference": {"subject": row.final_subject, "body": row.final_body},
            "source_approval_id": row.id,
        }
    )


def case_id(approval_id: str, lead_id: str) -> str:
    """A suite-safe id: readable through the lead's id (approval ids are UUIDs), and unique
    through a hash of the approval id (lower-casing and replacing characters in the lead's id
    could otherwise make two cases one)."""
    slug = _UNSAFE_ID.sub("-", lead_id.lower()).strip("-.")[:60]
    digest = hashlib.sha256(approval_id.encode("utf-8")).hexdigest()[:8]
    return f"harvest-{slug}-{digest}" if slug else f"harvest-{digest}"


def format_duration(delta: timedelta) -> str:
    """A duration in the suite syntax (3d, 2h, 45m), in the largest unit that is exact.

    The syntax has no seconds, so anything finer is fractional minutes (e.g. 0.5m)."""
    seconds = round(delta.total_seconds())
    if seconds < 0:
        raise ValueError(f"negative duration {delta}")
    for unit, size in _UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    minutes = f"{seconds / 60:.6f}".rstrip("0").rstrip(".")
    return f"{minutes}m"


def _lead_in(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "email": lead.email,
        "name": lead.name,
        "company": lead.company,
        "do_not_contact": lead.do_not_contact,
        # the suite holds scalar attributes only; anything else cannot be tested by a fit rule
        "attributes": {k: v for k, v in lead.attributes.items() if isinstance(v, _SCALARS)},
    }


def _event_in(event: Event, anchor: datetime) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "ago": format_duration(anchor - event.occurred_at),
        "properties": dict(event.properties),
    }


def _personalise_on(lead: Lead, topic: str | None) -> list[str]:
    """The facts the hand-written cases personalise on: company, topic of interest, industry."""
    industry = lead.attributes.get("industry")
    facts = [lead.company, topic, industry if isinstance(industry, str) else None]
    return list(dict.fromkeys(f for f in facts if f and f.strip()))


def _description(row: ApprovalRow, lead: Lead) -> str:
    who = " at ".join(part for part in (lead.name, lead.company) if part) or lead.id
    by = f" by {row.decided_by}" if row.decided_by else ""
    when = f" on {row.decided_at:%Y-%m-%d}" if row.decided_at else ""
    return f"Draft for {who}, edited{by}{when} before approval (from approval {row.id})."


def _replay_problem(case: HarvestedCase, playbook: Playbook, now: datetime) -> str | None:
    probe = Suite(name="probe", now=now, cases=[case])
    problems = playbook_problems(probe, playbook)
    if problems:
        return "; ".join(problems)
    decision = decide(case.lead.to_lead(), case.to_events(now), playbook, now)
    got = (decision.stage, decision.action, decision.reasons[0].rule)
    want = (case.expect.stage, case.expect.action, case.expect.rule)
    if got != want:
        return f"is decided {got} by the current playbook, but was {want} when drafted"
    return None


# --- writing and reading -------------------------------------------------------------------------
def write_harvest(
    cases: Iterable[HarvestedCase],
    path: Path | str,
    *,
    template: Path | str = CORE,
    name: str | None = None,
) -> HarvestedSuite:
    """Write the cases as a suite file and return what was written.

    A new file takes `now`, gates and thresholds from the `template` suite. An existing file keeps
    its header and cases; only cases from approvals it does not hold yet are added, so running
    the harvest again never duplicates a case."""
    path = Path(path)
    new = list(cases)
    if path.exists():
        existing = load_harvested(path)
        have = {c.source_approval_id for c in existing.cases}
        header = existing.model_dump(exclude={"cases"})
        merged = [*existing.cases, *(c for c in new if c.source_approval_id not in have)]
    else:
        base = load_suite(template)
        header = {
            "name": name or f"{base.name}-harvested",
            "description": "Drafts marketers edited before approving; the approved text is "
            "each case's reference.",
            "now": base.now,
            "gates": base.gates,
            "thresholds": base.thresholds,
        }
        merged = new
    if not merged:
        raise NurtureError("no edited drafts to harvest: nothing was written")
    suite = HarvestedSuite.model_validate({**header, "cases": merged})
    _write_atomically(path, FILE_HEADER + _dump(suite))
    return suite


def load_harvested(path: Path | str) -> HarvestedSuite:
    """Read a harvested suite file; problems name the file, line, YAML path and case, as
    `load_suite` does for hand-written suites."""
    return load_suite(path, model=HarvestedSuite)


def _dump(suite: HarvestedSuite) -> str:
    data = suite.model_dump(mode="json", exclude_defaults=True)
    # JSON mode writes timedeltas as ISO 8601 durations, which the suite syntax does not read.
    for case_data, case in zip(data["cases"], suite.cases, strict=True):
        for event_data, event in zip(case_data.get("events", []), case.events, strict=True):
            if event.ago is not None:
                event_data["ago"] = format_duration(event.ago)
    data["now"] = suite.now.isoformat().replace("+00:00", "Z")
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (email bodies) as literal blocks, so a reviewer reads them as text."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
