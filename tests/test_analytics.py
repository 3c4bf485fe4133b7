"""Analytics from the store (`nurture report`, GET /v1/analytics/summary): each figure equals
the same figure counted by a separate raw SQL query over the tables."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import numpy
import pytest
from sqlalchemy import text

from agent.analytics import DEFINITIONS, MAIL_COLUMNS, report, stages
from agent.demo.generator import generate
from agent.demo.history import replay_history
from agent.edit_distance import edit_distance, email_text
from agent.mailfeedback.events import MailEvent, record_mail_events
from agent.playbook import Playbook
from agent.store import Database
from agent.store.approvals import Answer, PendingDraft, open_approval, record_answer
from agent.store.handoffs import record_handoff
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.runs import record_run
from agent.store.schema import SendRow
from tests.utils.cli import run_nurture
from tests.utils.service import Service

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=60)
ANSWERS: tuple[Answer | None, ...] = ("accept", "edit", "respond", "ignore", None)  # None: waiting
RULES = ("nurture.content", "followup.click", "reengage.dormant")
ASSETS: tuple[list[str], ...] = (["case-study-a"], ["guide-b", "case-study-a"], [])


def seed(db: Database, playbook: Playbook) -> None:
    """Demo leads with their replayed history, and drafts, answers, sends and hand-offs spread
    over the last 90 days (so some fall before SINCE)."""
    leads, events = generate(seed=5, now=NOW, count=80)
    upsert_leads(db, leads, playbook)
    ingest_events(db, events, playbook, now=NOW)
    replay_history(db, playbook, [lead["id"] for lead in leads], NOW)
    for n, lead_id in enumerate(sorted(lead["id"] for lead in leads)[:50]):
        created = NOW - timedelta(days=90 - n * 1.7)
        thread = f"t-{n}"
        record_run(
            db,
            thread_id=thread,
            lead_id=lead_id,
            outcome="awaiting_approval",
            at=created,
            playbook_version=playbook.version,
            action="send_email",
        )
        open_approval(
            db,
            PendingDraft(
                approval_id=f"a-{n}",
                thread_id=thread,
                lead_id=lead_id,
                subject="Hi",
                body="Hello",
                cited_asset_ids=ASSETS[(n // 3) % 3],
                lead_facts_used=[],
                drafter=("template", "openai:gpt")[n % 2],
                prompt_version="p1",
                playbook_version=playbook.version,
                violations=[],
                decision={
                    "stage": ("interest", "consideration", "decision")[n % 3],
                    "reasons": [{"rule": RULES[(n // 2) % 3], "text": "why"}],
                },
                created_at=created,
            ),
        )
        answer = ANSWERS[n % len(ANSWERS)]
        if answer is None:
            continue
        decided = created + timedelta(hours=3 + n)
        record_answer(
            db,
            f"a-{n}",
            answer=answer,
            by="mara",
            at=decided,
            feedback="shorter" if answer == "respond" else None,
            subject="Hi!" if answer == "edit" else None,
            # edits of different sizes, so the median and p75 of the distance differ
            body="Hello" + " there" * (n % 7) + "!" if answer == "edit" else None,
        )
        if answer in ("accept", "edit"):
            with db.session() as session:
                session.add(
                    SendRow(
                        approval_id=f"a-{n}",
                        lead_id=lead_id,
                        message_id=f"<m{n}@x>",
                        status=("sent", "failed", "needs_check")[n % 3],
                        reason=None,
                        to_address="x@example.org",
                        subject="Hi",
                        body="Hello",
                        attempted_at=decided,
                        finished_at=decided,
                    )
                )
        if n % 4 == 0:
            record_handoff(
                db,
                handoff_id=f"h-{n}",
                lead_id=lead_id,
                rule="handoff.hot",
                reason="hot",
                payload={},
                at=created,
                webhook_status=("delivered", "failed")[n % 8 == 0],
            )


MAIL_KINDS = ("open", "click", "reply", "bounce", "unsubscribe")


def seed_mail_feedback(db: Database, playbook: Playbook) -> None:
    """Opens, clicks, replies, bounces and unsubscribes on the seeded sends (some before
    SINCE, some twice), and one open matching no send of ours."""
    with db.session() as session:
        sends = session.execute(
            text("SELECT message_id, attempted_at FROM sends ORDER BY message_id")
        ).all()
    events = []
    for n, (message_id, attempted) in enumerate(sends):
        for k, kind in enumerate(MAIL_KINDS[: 1 + n % len(MAIL_KINDS)]):
            events.append(
                MailEvent(
                    provider="test",
                    provider_event_id=f"{n}-{k}",
                    kind=kind,  # type: ignore[arg-type]
                    occurred_at=as_utc(attempted) + timedelta(hours=1 + k),
                    message_ids=(message_id,),
                )
            )
    events.append(
        MailEvent("test", "stray", "open", NOW - timedelta(days=1), message_ids=("<nope@x>",))
    )
    record_mail_events(db, playbook, events, now=NOW)


def raw(db: Database, sql: str, **params: object) -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def as_utc(value: object) -> datetime:
    """A timestamp as the driver returns it raw: SQLite text, PostgreSQL a datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def week(moment: datetime) -> str:
    year, number, _ = moment.isocalendar()
    return f"{year}-W{number:02d}"


def test_every_figure_equals_a_raw_count_of_the_tables(db: Database, playbook: Playbook) -> None:
    seed(db, playbook)
    got = report(db, since=SINCE, now=NOW)
    since = SINCE.replace(tzinfo=None) if db.dialect == "sqlite" else SINCE

    assert got.leads_by_stage == dict(
        raw(db, "SELECT stage, count(*) FROM lead_decisions GROUP BY stage")  # type: ignore[arg-type]
    )
    mql_rows = raw(
        db,
        "SELECT at FROM decision_changes WHERE to_hot AND (from_hot IS NULL OR NOT from_hot) "
        "AND at >= :since",
        since=since,
    )
    assert got.mqls == len(mql_rows) > 0
    assert got.mqls_by_week == dict(Counter(week(as_utc(r[0])) for r in mql_rows))

    handoffs = raw(
        db, "SELECT webhook_status FROM handoffs WHERE created_at >= :since", since=since
    )
    assert got.handoffs == len(handoffs) > 0
    assert got.handoffs_delivered == sum(1 for (s,) in handoffs if s == "delivered")

    answered = raw(
        db,
        "SELECT status, created_at, decided_at FROM approvals WHERE decided_at >= :since "
        "AND status IN ('accepted', 'edited', 'responded', 'ignored')",
        since=since,
    )
    assert got.drafts_by_outcome == dict(Counter(str(r[0]) for r in answered))
    assert set(got.drafts_by_outcome) == {"accepted", "edited", "responded", "ignored"}
    hours = [(as_utc(r[2]) - as_utc(r[1])).total_seconds() / 3600 for r in answered]
    assert got.median_hours_to_decision == pytest.approx(median(hours))
    assert (
        got.drafts_waiting
        == raw(db, "SELECT count(*) FROM approvals WHERE status = 'pending'")[0][0]
    )

    sends = raw(
        db,
        "SELECT status, count(*) FROM sends WHERE attempted_at >= :since GROUP BY status",
        since=since,
    )
    assert got.sends_by_status == dict(sends)  # type: ignore[arg-type]
    assert all(figure.definition for figure in got.each_figure())


def test_without_since_every_row_counts(db: Database, playbook: Playbook) -> None:
    seed(db, playbook)
    got = report(db, since=None, now=NOW)
    assert got.handoffs == raw(db, "SELECT count(*) FROM handoffs")[0][0]
    assert (
        got.mqls
        == raw(
            db,
            "SELECT count(*) FROM decision_changes "
            "WHERE to_hot AND (from_hot IS NULL OR NOT from_hot)",
        )[0][0]
    )


def test_nurture_report_prints_the_figures_with_their_definitions(
    tmp_path: Path,
    playbook: Playbook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    seed(db, playbook)
    monkeypatch.setenv("NURTURE_DATABASE_URL", db.url)
    since = SINCE.isoformat()
    code, out, err = run_nurture(monkeypatch, capsys, "report", "--since", since, "--json")
    assert code == 0, err
    body = json.loads(out)
    assert (
        body["handoffs"]
        == raw(
            db, "SELECT count(*) FROM handoffs WHERE created_at >= :s", s=SINCE.replace(tzinfo=None)
        )[0][0]
    )
    assert body["since"].startswith(SINCE.date().isoformat())
    code, out, err = run_nurture(monkeypatch, capsys, "report", "--since", since)
    assert code == 0, err
    assert "MQLs" in out and "became hot" in out and f"{body['mqls']}" in out
    code, out, err = run_nurture(monkeypatch, capsys, "report", "--since", "yesterday")
    assert code == 2 and "--since" in out + err and "Traceback" not in out + err


def test_the_api_serves_the_same_summary(service: Service) -> None:
    db = service.world.agent.ctx.db
    seed(db, service.world.agent.ctx.playbook)
    response = service.call(
        "GET", "/v1/analytics/summary", "rep", params={"since": SINCE.isoformat()}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = report(db, since=SINCE, now=datetime.fromisoformat(body["until"]))
    assert body["mqls"] == expected.mqls and body["handoffs"] == expected.handoffs
    assert body["drafts_by_outcome"] == expected.drafts_by_outcome
    assert body["handoffs_accepted"] == expected.handoffs_accepted
    assert body["mail_by_stage"] == expected.mail_by_stage
    assert body["mail_by_drafter"] == expected.mail_by_drafter
    assert body["mail_by_rule"] == expected.mail_by_rule
    assert body["mail_by_asset"] == expected.mail_by_asset
    assert body["edit_distance_by_stage"] == expected.edit_distance_by_stage
    assert body["hours_to_decision_by_stage"] == expected.hours_to_decision_by_stage
    assert body["leads_by_stage_by_week"] == expected.leads_by_stage_by_week
    assert {f["name"] for f in body["figures"]} >= {"mqls", "handoffs", "drafts_by_outcome"}
    bad = service.call("GET", "/v1/analytics/summary", "rep", params={"since": "2026-11-20"})
    assert bad.status_code == 422 and "since" in bad.text


MAIL_FIGURE = {
    "email_open": "opens",
    "email_click": "clicks",
    "email_reply": "replies",
    "email_bounce": "bounces",
    "unsubscribe": "unsubscribes",
}


def grouping_sql(db: Database) -> dict[str, tuple[str, str]]:
    """Per figure, the raw SQL column it groups by and the join that brings it (the assets of a
    draft are a JSON array: one row per asset cited, '(no asset)' for a draft citing none)."""
    if db.dialect == "sqlite":
        return {
            "mail_by_stage": ("json_extract(a.decision, '$.stage')", ""),
            "mail_by_drafter": ("a.drafter", ""),
            "mail_by_rule": ("json_extract(a.decision, '$.reasons[0].rule')", ""),
            "mail_by_asset": (
                "coalesce(j.value, '(no asset)')",
                "LEFT JOIN json_each(a.cited_asset_ids) j",
            ),
        }
    return {
        "mail_by_stage": ("a.decision->>'stage'", ""),
        "mail_by_drafter": ("a.drafter", ""),
        "mail_by_rule": ("a.decision->'reasons'->0->>'rule'", ""),
        "mail_by_asset": (
            "coalesce(j.value, '(no asset)')",
            "LEFT JOIN LATERAL jsonb_array_elements_text(a.cited_asset_ids) j(value) ON true",
        ),
    }


def test_mail_feedback_by_stage_drafter_rule_and_asset_equals_a_raw_join(
    db: Database, playbook: Playbook
) -> None:
    seed(db, playbook)
    seed_mail_feedback(db, playbook)
    got = report(db, since=SINCE, now=NOW)
    since = SINCE.replace(tzinfo=None) if db.dialect == "sqlite" else SINCE
    message_id = (
        "json_extract(e.properties, '$.message_id')"
        if db.dialect == "sqlite"
        else "e.properties->>'message_id'"
    )
    for name, (column, join) in grouping_sql(db).items():
        expected: dict[str, dict[str, int]] = {}
        for group, count in raw(
            db,
            f"SELECT {column}, count(*) FROM sends s JOIN approvals a ON a.id = s.approval_id "
            f"{join} WHERE s.status = 'sent' AND s.attempted_at >= :since GROUP BY 1",
            since=since,
        ):
            expected.setdefault(str(group), {})["sends"] = int(count)  # type: ignore[call-overload]
        for group, kind, count in raw(
            db,
            f"SELECT {column}, e.type, count(*) FROM events e "
            f"JOIN sends s ON s.message_id = {message_id} "
            f"JOIN approvals a ON a.id = s.approval_id {join} "
            "WHERE e.type IN ('email_open', 'email_click', 'email_reply', 'email_bounce', "
            "'unsubscribe') AND e.occurred_at >= :since GROUP BY 1, 2",
            since=since,
        ):
            expected.setdefault(str(group), {})[MAIL_FIGURE[str(kind)]] = int(count)  # type: ignore[call-overload]
        figure = getattr(got, name)
        assert {g: {k: v for k, v in row.items() if v} for g, row in figure.items()} == expected
        assert all(list(row) == list(MAIL_COLUMNS) for row in figure.values()), name
    assert set(got.mail_by_drafter) == {"template", "openai:gpt"}
    assert set(got.mail_by_rule) == set(RULES)
    assert set(got.mail_by_asset) == {"case-study-a", "guide-b", "(no asset)"}
    assert sum(row["replies"] for row in got.mail_by_stage.values()) > 0
    # every draft citing guide-b also cites case-study-a, so the latter counts its sends too
    assert got.mail_by_asset["case-study-a"]["sends"] > got.mail_by_asset["guide-b"]["sends"] > 0


def percentile(values: list[float], q: float) -> float:
    """numpy's linear interpolation (PostgreSQL's percentile_cont): an independent count."""
    return float(numpy.percentile(values, q))


def test_drafts_edit_distance_and_hours_to_decision_by_stage_equal_raw_rows(
    db: Database, playbook: Playbook
) -> None:
    seed(db, playbook)
    got = report(db, since=SINCE, now=NOW)
    since = SINCE.replace(tzinfo=None) if db.dialect == "sqlite" else SINCE
    stage = "json_extract(decision, '$.stage')" if db.dialect == "sqlite" else "decision->>'stage'"
    distances: dict[str, list[float]] = {}
    for group, subject, body, final_subject, final_body in raw(
        db,
        f"SELECT {stage}, subject, body, final_subject, final_body FROM approvals "
        "WHERE status = 'edited' AND decided_at >= :since",
        since=since,
    ):
        measured = edit_distance(
            email_text(str(subject), str(body)), email_text(str(final_subject), str(final_body))
        )
        distances.setdefault(str(group), []).append(measured.chars)
    assert distances and any(len(set(d)) > 1 for d in distances.values()), "edits differ"
    assert set(got.edit_distance_by_stage) == set(distances)
    for group, values in distances.items():
        row = got.edit_distance_by_stage[group]
        assert row["edited"] == len(values)
        assert row["median"] == pytest.approx(percentile(values, 50), abs=1e-6)
        assert row["p75"] == pytest.approx(percentile(values, 75), abs=1e-6)

    hours: dict[str, list[float]] = {}
    for group, created, decided in raw(
        db,
        f"SELECT {stage}, created_at, decided_at FROM approvals WHERE decided_at >= :since "
        "AND status IN ('accepted', 'edited', 'responded', 'ignored')",
        since=since,
    ):
        waited = (as_utc(decided) - as_utc(created)).total_seconds() / 3600
        hours.setdefault(str(group), []).append(waited)
    assert (
        set(got.hours_to_decision_by_stage)
        == set(hours)
        == {
            "interest",
            "consideration",
            "decision",
        }
    )
    for group, values in hours.items():
        row = got.hours_to_decision_by_stage[group]
        assert row["answered"] == len(values)
        assert row["median"] == pytest.approx(percentile(values, 50))
        assert row["p75"] == pytest.approx(percentile(values, 75))


def test_the_report_and_the_api_schema_share_their_fields(service: Service) -> None:
    """AnalyticsOut is the Report plus `figures`: each figure's definition is its field's
    description in the OpenAPI document, written once."""
    schemas = service.client.get("/openapi.json").json()["components"]["schemas"]
    properties = schemas["AnalyticsOut"]["properties"]
    for name, definition in DEFINITIONS.items():
        assert properties[name]["description"] == definition, name
    assert set(properties) == set(DEFINITIONS) | {"since", "until", "figures"}


def test_handoffs_accepted_by_sales_equals_a_raw_count(db: Database, playbook: Playbook) -> None:
    seed(db, playbook)
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE handoffs SET state = 'accepted' WHERE id IN ('h-4', 'h-12')")
        )
        connection.execute(text("UPDATE handoffs SET state = 'closed' WHERE id = 'h-20'"))
    got = report(db, since=SINCE, now=NOW)
    since = SINCE.replace(tzinfo=None) if db.dialect == "sqlite" else SINCE
    accepted = raw(
        db,
        "SELECT count(*) FROM handoffs WHERE state IN ('accepted', 'closed') "
        "AND created_at >= :since",
        since=since,
    )[0][0]
    assert got.handoffs_accepted == accepted > 0  # type: ignore[operator]


def test_leads_by_stage_over_time_equals_a_raw_latest_change_per_week(
    db: Database, playbook: Playbook
) -> None:
    seed(db, playbook)
    got = report(db, since=SINCE, now=NOW)
    assert got.leads_by_stage_by_week, "the replayed history spans weeks"
    monday = (SINCE - timedelta(days=SINCE.weekday())).replace(hour=0, minute=0, second=0)
    weeks = []
    while monday <= NOW:
        weeks.append((week(monday), min(monday + timedelta(days=7), NOW)))
        monday += timedelta(days=7)
    assert list(got.leads_by_stage_by_week) == [name for name, _ in weeks]
    for name, end in weeks:
        cut = end.replace(tzinfo=None) if db.dialect == "sqlite" else end
        rows = raw(
            db,
            "SELECT d.to_stage, count(*) FROM decision_changes d WHERE d.id = ("
            "SELECT d2.id FROM decision_changes d2 WHERE d2.lead_id = d.lead_id AND d2.at <= :cut "
            "ORDER BY d2.at DESC, d2.id DESC LIMIT 1) GROUP BY d.to_stage",
            cut=cut,
        )
        assert got.leads_by_stage_by_week[name] == dict(rows), name  # type: ignore[arg-type]
    assert sum(got.leads_by_stage_by_week[weeks[-1][0]].values()) == sum(
        got.leads_by_stage.values()
    )


@pytest.mark.parametrize("case_weeks", [2_000, 0], ids=["summed-per-week", "streamed"])
def test_a_since_centuries_back_counts_every_week_from_then(
    db: Database, playbook: Playbook, case_weeks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--since far back (an API caller may send year 1): every week from then is a row, the
    counts the same as from SINCE for the weeks both cover, whether the database sums the
    weeks or (a span too long for one query) the moments are streamed into weeks."""
    monkeypatch.setattr(stages, "MAX_CASE_WEEKS", case_weeks)
    seed(db, playbook)
    far = datetime(1, 1, 1, tzinfo=UTC)
    got = report(db, since=far, now=NOW).leads_by_stage_by_week
    recent = report(db, since=SINCE, now=NOW).leads_by_stage_by_week
    assert list(got)[0] == "1-W01" and len(got) > 100_000
    assert {week: got[week] for week in recent} == recent
