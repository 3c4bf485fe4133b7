"""Store rows to API models: one place, so every route shows a thing the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast
from zoneinfo import ZoneInfo

from agent.analytics import Report
from agent.contact import says_do_not_contact
from agent.preview import Preview
from agent.preview_json import preview_json
from agent.send_windows import scheduled_detail
from agent.store.ingest import IngestReport
from agent.store.schema import (
    ApprovalRow,
    LeadDecisionRow,
    LeadRow,
    PlaybookPreviewRow,
    RunRow,
    SendActionRow,
    SendRow,
)
from api.schemas import (
    AnalyticsFigureOut,
    AnalyticsOut,
    ApprovalOut,
    BatchOut,
    DecisionSummary,
    ItemOut,
    LeadOut,
    PreviewJobOut,
    PreviewOut,
    PreviewStatus,
    RunOut,
    SendActionOut,
    SendOut,
)


def batch_out(report: IngestReport) -> BatchOut:
    return BatchOut(
        stored=report.count("stored"),
        duplicate=report.count("duplicate"),
        rejected=report.count("rejected"),
        results=[
            ItemOut(index=r.index, id=r.id, status=r.status, reason=r.reason)
            for r in report.results
        ],
    )


def lead_out(row: LeadRow, decision: LeadDecisionRow | None) -> LeadOut:
    summary = None
    if decision is not None:
        summary = DecisionSummary(
            stage=decision.stage,
            action=decision.action,
            wait_until=decision.wait_until,
            total=decision.total,
            hot=decision.hot,
            playbook_version=decision.playbook_version,
            decided_at=decision.decided_at,
        )
    return LeadOut(
        id=row.id,
        email=row.email,
        name=row.name,
        company=row.company,
        owner=row.owner,
        attributes=row.attributes,
        # rows stored before the rule existed may hold the attribute with the column false
        do_not_contact=says_do_not_contact(row.do_not_contact, row.attributes),
        decision=summary,
    )


def scheduled_label(row: SendRow) -> str | None:
    """ "scheduled for Tue 09:00 Europe/Berlin" while the send waits for its window."""
    if row.status != "scheduled" or row.scheduled_for is None:
        return None
    return scheduled_detail(row.scheduled_for, ZoneInfo(row.send_zone or "UTC"))


def send_out(row: SendRow, history: Sequence[SendActionRow] = ()) -> SendOut:
    return SendOut(
        approval_id=row.approval_id,
        lead_id=row.lead_id,
        status=row.status,
        reason=row.reason,
        to_address=row.to_address,
        subject=row.subject,
        body=row.body,
        message_id=row.message_id,
        attempted_at=row.attempted_at,
        finished_at=row.finished_at,
        scheduled_for=row.scheduled_for,
        send_zone=row.send_zone,
        scheduled=scheduled_label(row),
        history=[
            SendActionOut(
                action=a.action,  # type: ignore[arg-type]
                by=a.by,
                at=a.at,
                from_status=a.from_status,
                from_reason=a.from_reason,
                outcome=a.outcome,
                detail=a.detail,
            )
            for a in history
        ],
    )


def approval_out(
    row: ApprovalRow,
    send: SendRow | None,
    history: Sequence[SendActionRow] = (),
    stale_reason: str | None = None,
) -> ApprovalOut:
    decision = row.decision or {}
    return ApprovalOut(
        id=row.id,
        thread_id=row.thread_id,
        lead_id=row.lead_id,
        status=row.status,
        stage=decision.get("stage"),
        why=decision.get("reasons", []),
        subject=row.subject,
        body=row.body,
        cited_asset_ids=row.cited_asset_ids,
        lead_facts_used=row.lead_facts_used,
        drafter=row.drafter,
        prompt_version=row.prompt_version,
        playbook_version=row.playbook_version,
        violations=row.violations,
        notes=row.notes or [],
        created_at=row.created_at,
        answer=row.answer,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        feedback=row.feedback,
        final_subject=row.final_subject,
        final_body=row.final_body,
        edited=row.answer == "edit",
        guardrails_overridden_by=row.guardrails_overridden_by,
        guardrails_overridden=row.guardrails_overridden or [],
        stale=stale_reason is not None,
        stale_reason=stale_reason,
        send=send_out(send, history) if send is not None else None,
    )


def run_out(row: RunRow) -> RunOut:
    waiting = row.outcome == "awaiting_approval"
    running = row.outcome == "running"
    # queued again after a failed attempt: the job queue will run it at retry_at
    retrying = row.outcome == "queued" and row.retry_at is not None
    return RunOut(
        thread_id=row.thread_id,
        lead_id=row.lead_id,
        status="retrying" if retrying else row.outcome,
        action=row.action,
        detail=row.detail,
        playbook_version=row.playbook_version,
        approval_id=row.detail if waiting else None,
        updated_at=row.updated_at,
        worker=row.worker if running else None,
        running_since=row.running_since if running else None,
        attempts=row.attempts,
        error=row.error if row.outcome == "failed" or retrying else None,
        retry_at=row.retry_at if retrying else None,
    )


def preview_out(result: Preview) -> PreviewOut:
    return PreviewOut.model_validate(preview_json(result))


def preview_job_out(row: PlaybookPreviewRow) -> PreviewJobOut:
    done = row.status == "done" and row.result is not None
    return PreviewJobOut(
        id=row.id,
        status=cast(PreviewStatus, row.status),
        candidate_version=row.candidate_version,
        current_version=row.current_version,
        requested_by=row.requested_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        leads_done=row.leads_done,
        leads_total=row.leads_total,
        error=row.error,
        result=PreviewOut.model_validate(row.result) if done else None,
    )


def analytics_out(result: Report) -> AnalyticsOut:
    figures = [
        AnalyticsFigureOut(name=f.name, definition=f.definition) for f in result.each_figure()
    ]
    return AnalyticsOut(**dict(result), figures=figures)
