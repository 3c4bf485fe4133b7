"""Stateful property test of the agent's sending guarantees.

Hypothesis drives random sequences of: drafts for three leads; answers to pending approvals
(accept with or without a guardrail override, a clean edit, an edit that breaks a guardrail,
respond, ignore); restarts (a new
process' view of the same database and checkpoint file); timeline events (unsubscribe, hard
bounce, do-not-contact, email_open, whitepaper_download); crashes between the SMTP server
accepting a message and the send being recorded; and recoveries of threads. After every step,
against what the real SMTP server received and what the database holds:

1. every delivered Message-ID belongs to an approval a human accepted (or edited cleanly),
   decided before the send was attempted; a draft whose guardrails failed only with an override
   recorded in its audit (without one, the accept is refused and the draft keeps waiting);
2. nothing is delivered to a lead after an unsubscribe, hard bounce or do-not-contact for that
   lead was ingested;
3. no Message-ID is delivered twice, and no approval has more than one delivery;
4. a message is delivered only for a send row that is sent or needs_check ('sending' only while
   a crashed thread waits for its recovery).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar, TypedDict

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.drafting.request import unsubscribe_line
from agent.errors import NurtureError
from agent.jobs.drafts import accept_draft, run_draft
from agent.nodes.send import message_id_for
from agent.runner import NurtureAgent
from agent.settings import Settings
from agent.store import Database
from agent.store.approvals import GuardrailsNotOverridden, get_approval
from agent.store.ingest import ingest_events
from agent.store.leads import load_lead, upsert_leads
from agent.store.runs import DraftRefused
from agent.store.schema import ApprovalRow, SendRow
from agent.store.sends import get_send
from tests.utils.agent_world import DANA, WHITEPAPER, World
from tests.utils.smtp import CollectingHandler

OMAR: dict[str, Any] = {
    "id": "L2",
    "email": "omar@harlowfreight.example",
    "name": "Omar Haddad",
    "company": "Harlow Freight",
    "attributes": {"industry": "logistics", "employees": 300, "title": "Fleet Manager"},
}
MEI: dict[str, Any] = {
    "id": "L3",
    "email": "mei@tidewater.example",
    "name": "Mei Tanaka",
    "company": "Tidewater Haulage",
    "attributes": {"industry": "logistics", "employees": 900, "title": "Operations Manager"},
}
LEADS: dict[str, dict[str, Any]] = {lead["id"]: lead for lead in (DANA, OMAR, MEI)}
LEAD_IDS = sorted(LEADS)

SUPPRESSING = ("unsubscribe", "hard_bounce", "do_not_contact")
ACTIVITY = ("email_open", "whitepaper_download")
PICK = st.integers(0, 7)  # which pending approval (or thread), modulo how many there are
APPROVED = {"accepted", "edited"}
DELIVERABLE = {"sent", "needs_check"}

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    stateful_step_count=12,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class SimulatedCrash(RuntimeError):
    """The process 'dies' between the SMTP server accepting and the send being recorded."""


def note(value: str) -> None:
    """A line for `--hypothesis-show-statistics` (how often each path was taken)."""
    if currently_in_test_context():
        event(value)


def crash(_approval_id: str) -> None:
    raise SimulatedCrash("process killed between SMTP accept and the record")


def no_crash(_approval_id: str) -> None:
    return None


@dataclass
class Delivery:
    """One message the SMTP server accepted, and the step during which it arrived."""

    message: EmailMessage
    step: int


@dataclass
class Model:
    """What the test did, to judge the agent's records and the server's messages against."""

    step: int = 0
    approvals: list[str] = field(default_factory=list)
    """Every approval the agent opened, in the order it opened them."""
    threads: list[str] = field(default_factory=list)
    """The threads of those approvals, in the same order."""
    answered: dict[str, str] = field(default_factory=dict)
    """approval id -> how the test answered it."""
    suppressed_at: dict[str, int] = field(default_factory=dict)
    """lead id -> the step whose suppressing event (or flag) was ingested first."""
    crashed: set[str] = field(default_factory=set)
    """Threads that crashed during a send and were not recovered yet."""
    deliveries: list[Delivery] = field(default_factory=list)


def all_approvals(db: Database) -> list[ApprovalRow]:
    with db.session() as session:
        query = select(ApprovalRow).order_by(ApprovalRow.created_at, ApprovalRow.id)
        return list(session.scalars(query))


def all_sends(db: Database) -> list[SendRow]:
    with db.session() as session:
        return list(session.scalars(select(SendRow)))


class EditText(TypedDict):
    subject: str
    body: str


def clean_edit(agent: NurtureAgent, lead_id: str) -> EditText:
    """A short edit that passes every guardrail: greeting, one plain line, unsubscribe line."""
    lead = load_lead(agent.ctx.db, lead_id)
    assert lead is not None and lead.name
    first = lead.name.split()[0]
    line = unsubscribe_line(agent.ctx, lead)
    body = f"Hi {first},\n\nThis one is worth five minutes of your week.\n\n{line}\n"
    return {"subject": "A short read for you", "body": body}


def broken_edit() -> EditText:
    """Pricing at the interest stage, an ungrounded number, and no unsubscribe line."""
    return {"subject": "Deal", "body": "Hi, our pricing is 50% off this week.\n"}


def waiting_approval(agent: NurtureAgent, approval_id: str) -> str | None:
    """The approval id the approval's thread waits on (its interrupt), if it waits."""
    thread = get_approval(agent.ctx.db, approval_id).thread_id
    snapshot = agent.graph.get_state({"configurable": {"thread_id": thread}})
    if not snapshot.interrupts:
        return None
    [request] = snapshot.interrupts[0].value
    return str(request["action_request"]["args"]["approval_id"])


def timeline_event(lead_id: str, kind: str, number: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    type_, properties, occurred = {
        "unsubscribe": ("unsubscribe", {}, now),
        "hard_bounce": ("email_bounce", {"hard": True}, now),
        "email_open": ("email_open", {}, now),
        "whitepaper_download": (
            "whitepaper_download",
            {"topic": "route optimisation", "asset_id": "wp-time-windows-routing-cost"},
            now - timedelta(days=4),
        ),
    }[kind]
    return {
        "id": f"{lead_id}-prop-{number}",
        "lead_id": lead_id,
        "type": type_,
        "occurred_at": occurred.isoformat(),
        "properties": properties,
    }


def check_approved(delivery: Delivery, approval: ApprovalRow, send: SendRow, model: Model) -> None:
    """Invariant 1: a human accepted (or cleanly edited) it, before the send was attempted."""
    assert approval.status in APPROVED, (approval.id, approval.status)
    assert model.answered.get(approval.id) in ("accept", "accept_override", "edit"), (
        approval.id,
        model.answered.get(approval.id),
    )
    if approval.status == "accepted" and approval.violations:
        assert model.answered[approval.id] == "accept_override", approval.id
        assert approval.guardrails_overridden_by == "sam", approval.id
    assert approval.decided_at is not None and approval.decided_at <= send.attempted_at
    assert delivery.message["To"].addresses[0].addr_spec == LEADS[approval.lead_id]["email"]


def check_not_suppressed(delivery: Delivery, approval: ApprovalRow, model: Model) -> None:
    """Invariant 2: nothing reaches a lead after a suppression for that lead was ingested."""
    since = model.suppressed_at.get(approval.lead_id)
    assert since is None or delivery.step <= since, (
        f"{delivery.message['Message-ID']} reached {approval.lead_id} in step {delivery.step}, "
        f"suppressed since step {since}"
    )


def check_once(deliveries: list[Delivery], by_message_id: dict[str, ApprovalRow]) -> None:
    """Invariant 3: each Message-ID, and each approval, at most once."""
    ids = Counter(str(d.message["Message-ID"]) for d in deliveries)
    assert all(n == 1 for n in ids.values()), ids
    approvals = Counter(by_message_id[m].id for m in ids if m in by_message_id)
    assert all(n == 1 for n in approvals.values()), approvals


def check_send_row(send: SendRow | None, approval: ApprovalRow, model: Model) -> None:
    """Invariant 4: delivered only for a send row that is sent or needs_check."""
    assert send is not None, f"delivered without a send row: {approval.id}"
    allowed = DELIVERABLE | ({"sending"} if approval.thread_id in model.crashed else set())
    assert send.status in allowed, (approval.id, send.status)
    assert send.message_id == message_id_for(approval.id)


def check_sent_rows_were_delivered(sends: list[SendRow], delivered: set[str]) -> None:
    """The converse: a row that says 'sent' has exactly its message on the server."""
    for send in sends:
        if send.status == "sent":
            assert send.message_id in delivered, send.approval_id
        if send.status in ("blocked", "failed"):
            assert send.message_id not in delivered, send.approval_id


class AgentMachine(RuleBasedStateMachine):
    """One example: a fresh database and checkpoint file, the shared SMTP server."""

    chroma: ClassVar[Path]
    smtp: ClassVar[CollectingHandler]
    smtp_port: ClassVar[int]

    def __init__(self) -> None:
        super().__init__()
        self.smtp.envelopes.clear()
        self.files = ExitStack()
        self.process = ExitStack()
        folder = Path(self.files.enter_context(tempfile.TemporaryDirectory()))
        shutil.copytree(self.chroma, folder / "chroma")
        self.config = Settings(
            data_dir=folder,
            database_url=f"sqlite:///{folder / 'nurture.db'}",
            smtp_host="127.0.0.1",
            smtp_port=self.smtp_port,
            smtp_starttls=False,
        )
        self.model = Model()
        self.events = 0
        self.agent = self._start_process()
        world = World(self.agent, self.smtp, self.config)
        for lead in LEADS.values():
            world.seed(lead, WHITEPAPER)

    def _start_process(self) -> NurtureAgent:
        checkpointer = self.process.enter_context(open_checkpointer(self.config))
        ctx = build_context(self.config)
        self.process.callback(ctx.db.dispose)
        return NurtureAgent(ctx, checkpointer)

    def teardown(self) -> None:
        note(f"delivered: {len(self.model.deliveries)}")
        note(f"steps: {self.model.step - 1}")
        self.process.close()
        self.files.close()

    # --- helpers ---------------------------------------------------------------------------

    def _pending(self) -> list[str]:
        status = {a.id: a.status for a in all_approvals(self.agent.ctx.db)}
        return [a for a in self.model.approvals if status[a] == "pending"]

    def _has_pending(self) -> bool:
        return bool(self._pending())

    def _has_threads(self) -> bool:
        return bool(self.model.threads)

    def _answer_pending(self, pick: int, how: str) -> None:
        pending = self._pending()
        self._answer(pending[pick % len(pending)], how)

    def _answer(self, approval_id: str, how: str) -> None:
        lead_id = get_approval(self.agent.ctx.db, approval_id).lead_id
        self.model.answered[approval_id] = how
        if how == "edit":
            result = self.agent.answer(
                approval_id, "edit", by="sam", **clean_edit(self.agent, lead_id)
            )
        elif how == "broken_edit":
            result = self.agent.answer(approval_id, "edit", by="sam", **broken_edit())
        elif how == "respond":
            result = self.agent.answer(
                approval_id, "respond", by="sam", feedback="Shorter, please."
            )
        elif how in ("accept", "accept_override"):
            flagged = bool(get_approval(self.agent.ctx.db, approval_id).violations)
            try:
                result = self.agent.answer(
                    approval_id, "accept", by="sam", override_guardrails=how == "accept_override"
                )
            except GuardrailsNotOverridden:
                assert flagged and how == "accept", approval_id
                del self.model.answered[approval_id]  # refused: the draft keeps waiting
                assert get_approval(self.agent.ctx.db, approval_id).status == "pending"
                note("accept: refused, its guardrails failed")
                return
        else:
            result = self.agent.answer(approval_id, how, by="sam")  # type: ignore[arg-type]
        note(f"{how}: {result.outcome}")

    def _ingest(self, lead_id: str, kind: str) -> None:
        note(f"timeline: {kind}")
        ctx = self.agent.ctx
        if kind == "do_not_contact":
            lead = {**LEADS[lead_id], "do_not_contact": True}
            report = upsert_leads(ctx.db, [lead], ctx.playbook)
        else:
            self.events += 1
            raw = timeline_event(lead_id, kind, self.events)
            report = ingest_events(ctx.db, [raw], ctx.playbook)
        assert not report.rejected, report

    # --- rules -----------------------------------------------------------------------------

    @initialize(leads=st.lists(st.sampled_from(LEAD_IDS), min_size=1, unique=True))
    def first_drafts(self, leads: list[str]) -> None:
        for lead_id in leads:
            self.start_draft(lead_id)

    @rule(lead_id=st.sampled_from(LEAD_IDS))
    def start_draft(self, lead_id: str) -> None:
        try:  # as the API and the CLI start one: queued in the store first
            thread_id = accept_draft(self.agent, lead_id)
        except DraftRefused as exc:  # one draft per lead: the refusal names the waiting one
            assert "waiting for approval" in str(exc), exc
            note(f"start refused: {exc}")
            return
        result = run_draft(self.agent, thread_id, worker="property-test")
        assert result is not None
        note(f"start: {result.outcome}")

    @precondition(_has_pending)
    @rule(pick=PICK, override=st.booleans())
    def accept(self, pick: int, override: bool = False) -> None:
        self._answer_pending(pick, "accept_override" if override else "accept")

    @precondition(_has_pending)
    @rule(pick=PICK)
    def edit_cleanly(self, pick: int) -> None:
        self._answer_pending(pick, "edit")

    @precondition(_has_pending)
    @rule(pick=PICK)
    def edit_breaking_a_guardrail(self, pick: int) -> None:
        self._answer_pending(pick, "broken_edit")

    @precondition(_has_pending)
    @rule(pick=PICK)
    def respond(self, pick: int) -> None:
        self._answer_pending(pick, "respond")

    @precondition(_has_pending)
    @rule(pick=PICK)
    def ignore(self, pick: int) -> None:
        self._answer_pending(pick, "ignore")

    @rule(check_inbox=st.booleans())
    def restart(self, check_inbox: bool) -> None:
        """A new process: new checkpointer connection, context and database engine."""
        note("restart")
        self.process.close()
        self.agent = self._start_process()
        if check_inbox:
            for approval_id in self._pending():
                assert waiting_approval(self.agent, approval_id) == approval_id

    @rule(lead_id=st.sampled_from(LEAD_IDS), kind=st.sampled_from(SUPPRESSING))
    def suppress(self, lead_id: str, kind: str) -> None:
        self.model.suppressed_at.setdefault(lead_id, self.model.step)
        self._ingest(lead_id, kind)

    @rule(lead_id=st.sampled_from(LEAD_IDS), kind=st.sampled_from(ACTIVITY))
    def activity(self, lead_id: str, kind: str) -> None:
        self._ingest(lead_id, kind)

    @precondition(_has_pending)
    @rule(pick=PICK)
    def crash_during_send(self, pick: int) -> None:
        pending = self._pending()
        approval_id = pending[pick % len(pending)]
        self.model.answered[approval_id] = "accept_override"  # this rule is about the crash
        self.agent.ctx.after_send = crash
        try:
            self.agent.answer(approval_id, "accept", by="sam", override_guardrails=True)
            note("crash: the send was not attempted")
        except SimulatedCrash:
            note("crash: after the SMTP server accepted")
            self.model.crashed.add(get_approval(self.agent.ctx.db, approval_id).thread_id)
        finally:
            self.agent.ctx.after_send = no_crash

    @precondition(lambda self: bool(self.model.crashed))
    @rule(pick=PICK)
    def recover_crashed(self, pick: int) -> None:
        crashed = sorted(self.model.crashed, key=self.model.threads.index)
        thread = crashed[pick % len(crashed)]
        assert self.agent.recover(thread).outcome == "needs_check"
        self.model.crashed.discard(thread)

    @precondition(_has_threads)
    @rule(pick=PICK)
    def recover_any(self, pick: int) -> None:
        thread = self.model.threads[pick % len(self.model.threads)]
        result = self.agent.recover(thread)
        note(f"recover: {result.outcome}")
        if thread in self.model.crashed:
            assert result.outcome == "needs_check"
            self.model.crashed.discard(thread)

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def sends_are_approved_unsuppressed_once_and_recorded(self) -> None:
        db = self.agent.ctx.db
        approvals = all_approvals(db)
        self._observe(approvals)
        self.model.step += 1
        self._check_deliveries(approvals, all_sends(db))

    def _observe(self, approvals: list[ApprovalRow]) -> None:
        """New approvals and threads in the order they appeared; new messages with this step."""
        for approval in approvals:
            if approval.id not in self.model.approvals:
                self.model.approvals.append(approval.id)
            if approval.thread_id not in self.model.threads:
                self.model.threads.append(approval.thread_id)
        messages = self.smtp.messages()
        self.model.deliveries += [
            Delivery(m, self.model.step) for m in messages[len(self.model.deliveries) :]
        ]

    def _check_deliveries(self, approvals: list[ApprovalRow], sends: list[SendRow]) -> None:
        by_message_id = {message_id_for(a.id): a for a in approvals}
        send_for = {s.approval_id: s for s in sends}
        check_once(self.model.deliveries, by_message_id)
        for delivery in self.model.deliveries:
            message_id = str(delivery.message["Message-ID"])
            assert message_id in by_message_id, f"no approval for {message_id}"
            approval = by_message_id[message_id]
            send = send_for.get(approval.id)
            check_send_row(send, approval, self.model)
            assert send is not None
            check_approved(delivery, approval, send, self.model)
            check_not_suppressed(delivery, approval, self.model)
        delivered = {str(d.message["Message-ID"]) for d in self.model.deliveries}
        check_sent_rows_were_delivered(sends, delivered)


def bind(indexed_data: Path, smtp_server: tuple[CollectingHandler, int]) -> Any:
    """The machine class, given this module's indexed content and this test's SMTP server."""
    handler, port = smtp_server
    return type(
        "AgentMachine",
        (AgentMachine,),
        {"chroma": indexed_data / "chroma", "smtp": handler, "smtp_port": port},
    )


def test_sends_stay_approved_unsuppressed_and_exactly_once(
    indexed_data: Path, smtp_server: tuple[CollectingHandler, int]
) -> None:
    run_state_machine_as_test(bind(indexed_data, smtp_server), settings=SETTINGS)


def test_the_machine_sends_and_refuses_a_second_answer_after_a_restart(
    indexed_data: Path, smtp_server: tuple[CollectingHandler, int]
) -> None:
    """The harness itself: a draft accepted goes out once; a new process cannot decide it again
    (so the property above is not passing for want of deliveries)."""
    machine = bind(indexed_data, smtp_server)()
    try:
        machine.first_drafts(["L1"])
        machine.sends_are_approved_unsuppressed_once_and_recorded()
        machine.accept(0)
        machine.sends_are_approved_unsuppressed_once_and_recorded()
        machine.restart(check_inbox=True)
        with pytest.raises(NurtureError, match="already decided"):
            machine._answer(machine.model.approvals[0], "accept")
        machine.sends_are_approved_unsuppressed_once_and_recorded()
        assert len(machine.model.deliveries) == 1
        send = get_send(machine.agent.ctx.db, machine.model.approvals[0])
        assert send is not None and send.status == "sent"
    finally:
        machine.teardown()


def test_the_machine_refuses_a_flagged_accept_until_it_is_overridden(
    indexed_data: Path, smtp_server: tuple[CollectingHandler, int]
) -> None:
    """The harness's guardrail path: a flagged draft's plain accept is refused and it waits; the
    overridden accept sends it (so both branches of the accept rule are reachable)."""
    machine = bind(indexed_data, smtp_server)()
    try:
        machine.first_drafts(["L1"])
        machine.sends_are_approved_unsuppressed_once_and_recorded()
        machine.edit_breaking_a_guardrail(0)
        machine.sends_are_approved_unsuppressed_once_and_recorded()
        [flagged] = machine._pending()
        assert get_approval(machine.agent.ctx.db, flagged).violations
        machine.accept(0, override=False)
        machine.sends_are_approved_unsuppressed_once_and_recorded()
        assert machine._pending() == [flagged] and machine.model.deliveries == []
        machine.accept(0, override=True)
        machine.sends_are_approved_unsuppressed_once_and_recorded()
        assert len(machine.model.deliveries) == 1
    finally:
        machine.teardown()
