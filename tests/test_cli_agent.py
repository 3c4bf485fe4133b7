"""The agent's commands: draft, inbox, review, approve (plain and --edit), respond, discard, run."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.playbook import load_playbook
from agent.runner import NurtureAgent
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.handoffs import list_handoffs
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from tests.test_cli import run
from tests.test_email_sending import ScriptedSmtpServer
from tests.utils.agent_world import DANA
from tests.utils.smtp import CollectingHandler, free_port


@pytest.fixture
def cli_env(
    indexed_data: Path,
    tmp_path: Path,
    smtp_server: tuple[CollectingHandler, int],
    monkeypatch: pytest.MonkeyPatch,
) -> CollectingHandler:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    for name, value in {
        "NURTURE_DATA_DIR": str(indexed_data),
        "NURTURE_DATABASE_URL": url,
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(smtp_server[1]),
        "NURTURE_SMTP_STARTTLS": "false",
    }.items():
        monkeypatch.setenv(name, value)
    db = Database(url)
    db.migrate()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    now = datetime.now(UTC)
    upsert_leads(db, [DANA, {**DANA, "id": "L2", "email": "lee@fabrikam.example"}], playbook)
    ingest_events(
        db,
        [
            {
                "id": f"{lead}-wp",
                "lead_id": lead,
                "type": "whitepaper_download",
                "occurred_at": (now - timedelta(days=4)).isoformat(),
                "properties": {"topic": "route optimisation"},
            }
            for lead in ("L1", "L2")
        ],
        playbook,
    )
    db.dispose()
    return smtp_server[0]


def approval_id_in(text: str) -> str:
    found = re.search(r"nurture approve (\S+)", text)
    assert found, text
    return found.group(1)


def test_draft_then_approve_sends(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, err = run(monkeypatch, capsys, "draft", "L1")
    assert code == 0, err
    assert "awaiting_approval" in out and "written by the offline template drafter" in out
    approval = approval_id_in(out)
    code, out, _ = run(monkeypatch, capsys, "inbox")
    assert approval in out and "scenario.whitepaper_case_study" in out
    code, out, _ = run(monkeypatch, capsys, "review", approval)
    assert code == 0 and "Why now" in out
    code, out, _ = run(monkeypatch, capsys, "approve", approval, "--by", "dana")
    assert code == 0 and "L1: sent" in out
    assert len(cli_env.envelopes) == 1
    code, _, err = run(monkeypatch, capsys, "approve", approval)
    assert code == 2 and "already decided (accepted by dana" in err
    assert len(cli_env.envelopes) == 1


def test_approve_with_an_edit_file(
    cli_env: CollectingHandler, tmp_path: Path, monkeypatch, capsys
) -> None:  # noqa: ANN001
    _, out, _ = run(monkeypatch, capsys, "draft", "L1")
    approval = approval_id_in(out)
    _, shown, _ = run(monkeypatch, capsys, "review", approval, "--json")
    line = json.loads(shown)["body"].rstrip().splitlines()[-1]  # the draft's own signed link
    assert line.startswith("Not useful? Unsubscribe: ")
    edit = tmp_path / "edit.txt"
    edit.write_text(f"Subject: A short read, Dana\n\nHi Dana,\n\nWorth five minutes.\n\n{line}\n")
    code, out, err = run(monkeypatch, capsys, "approve", approval, "--edit", str(edit))
    assert code == 0, err
    [envelope] = cli_env.envelopes
    assert b"Subject: A short read, Dana" in envelope.original_content  # type: ignore[operator]


def test_respond_and_discard(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    _, out, _ = run(monkeypatch, capsys, "draft", "L1")
    first = approval_id_in(out)
    code, out, _ = run(monkeypatch, capsys, "respond", first, "Mention the checklist")
    assert code == 0 and "awaiting_approval" in out
    second = approval_id_in(out)
    assert second != first
    code, out, _ = run(monkeypatch, capsys, "discard", second)
    assert code == 0 and "discarded" in out
    _, out, _ = run(monkeypatch, capsys, "inbox")
    assert "The inbox is empty." in out
    assert cli_env.envelopes == []


def test_run_drafts_for_every_due_lead_once(
    cli_env: CollectingHandler, monkeypatch, capsys
) -> None:  # noqa: ANN001
    code, out, err = run(monkeypatch, capsys, "run")
    assert code == 0, err
    assert "2 leads" in out and "awaiting_approval" in out
    assert "2 drafts written by the offline template drafter" in out
    _, out, _ = run(monkeypatch, capsys, "run")
    assert "0 leads" in out  # both already have a draft waiting


def test_run_hands_the_leads_the_playbook_sends_to_sales_over_once(
    cli_env: CollectingHandler, monkeypatch, capsys
) -> None:  # noqa: ANN001
    """A lead that became hot between runs is handed to sales by the batch run, not only by
    someone drafting for it by hand: otherwise it waits for nobody (issue #15)."""
    db = Database(os.environ["NURTURE_DATABASE_URL"])
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    upsert_leads(db, [{**DANA, "id": "L3", "email": "kim@acme.example"}], playbook)
    demo = {"id": "L3-demo", "lead_id": "L3", "type": "demo_request"}
    ingest_events(db, [{**demo, "occurred_at": datetime.now(UTC).isoformat()}], playbook)
    code, out, err = run(monkeypatch, capsys, "run")
    assert code == 0, err
    assert "3 leads" in out and "handed_off" in out
    assert "2 drafts written by the offline template drafter" in out
    assert [(h.row.lead_id, h.row.state) for h in list_handoffs(db)] == [("L3", "new")]
    _, out, _ = run(monkeypatch, capsys, "run")
    assert "0 leads" in out  # drafts wait for L1 and L2; L3 is with sales now
    assert len(list_handoffs(db)) == 1
    db.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve", "nope"], "error: no approval with id 'nope'"),
        (["draft", "nobody"], "error: no lead with id 'nobody'"),
        (["approve", "x", "--edit", "missing.txt"], "error: cannot read missing.txt"),
        (["respond", "x", "  "], "feedback is empty"),
        (["recover", "nobody:1"], "error: no run with thread id 'nobody:1'"),
    ],
)
def test_bad_input_is_one_line(
    cli_env: CollectingHandler, monkeypatch, capsys, args: list[str], message: str
) -> None:  # noqa: ANN001
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 2 and message in err and "Traceback" not in out + err


# --- exit codes: a script can tell whether what it asked for happened -----------------------


def drafted_via_cli(monkeypatch, capsys, lead: str = "L1") -> str:  # noqa: ANN001
    code, out, err = run(monkeypatch, capsys, "draft", lead)
    assert code == 0, err
    return approval_id_in(out)


def dead_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    """An LLM endpoint nothing listens on, tried once: every draft fails, with its reason."""
    monkeypatch.setenv("NURTURE_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("NURTURE_LLM_MAX_ATTEMPTS", "1")


def test_a_failed_draft_exits_1(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    dead_llm(monkeypatch)
    code, out, _ = run(monkeypatch, capsys, "draft", "L1")
    assert "L1: draft_failed" in out
    assert code == 1


def test_a_blocked_send_exits_1(
    cli_env: CollectingHandler, tmp_path: Path, monkeypatch, capsys
) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    unsubscribe = tmp_path / "unsub.jsonl"
    unsubscribe.write_text(
        '{"id": "u1", "lead_id": "L1", "type": "unsubscribe", '
        f'"occurred_at": "{datetime.now(UTC).isoformat()}"}}\n'
    )
    assert run(monkeypatch, capsys, "import", "events", str(unsubscribe))[0] == 0
    code, out, _ = run(monkeypatch, capsys, "approve", approval)
    assert "L1: blocked" in out and cli_env.envelopes == []
    assert code == 1


def test_a_refused_send_exits_1(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    monkeypatch.setenv("NURTURE_SMTP_PORT", str(free_port()))  # the mail server is down
    code, out, err = run(monkeypatch, capsys, "approve", approval)
    assert "L1: send_failed" in out and "sending again is safe" in out
    assert code == 1
    assert f"nurture resend {approval}" in err


def test_an_uncertain_send_exits_3(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    with ScriptedSmtpServer(after_data=None) as server:  # the verdict after the data never comes
        monkeypatch.setenv("NURTURE_SMTP_PORT", str(server.port))
        code, out, err = run(monkeypatch, capsys, "approve", approval)
    assert "L1: needs_check" in out
    assert code == 3
    assert f"nurture sends resolve {approval} --delivered" in err


def test_a_refused_edit_exits_1(
    cli_env: CollectingHandler, tmp_path: Path, monkeypatch, capsys
) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    edit = tmp_path / "edit.txt"
    edit.write_text("Subject: Our price list\n\nHi Dana, our pricing starts at 400 per month.\n")
    code, out, _ = run(monkeypatch, capsys, "approve", approval, "--edit", str(edit))
    assert "L1: awaiting_approval" in out and "guardrails failed" in out
    assert cli_env.envelopes == []
    assert code == 1


def test_a_respond_whose_redraft_fails_exits_1(
    cli_env: CollectingHandler, monkeypatch, capsys
) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    dead_llm(monkeypatch)
    code, out, _ = run(monkeypatch, capsys, "respond", approval, "Shorter, please")
    assert "L1: draft_failed" in out
    assert code == 1


def test_a_recovered_run_that_needs_a_human_exits_3(
    cli_env: CollectingHandler, monkeypatch, capsys
) -> None:  # noqa: ANN001
    from agent.settings import get_settings

    approval = drafted_via_cli(monkeypatch, capsys)
    settings = get_settings()
    with open_checkpointer(settings) as checkpointer:
        crashing = NurtureAgent(build_context(settings), checkpointer)

        def crash(_approval_id: str) -> None:
            raise RuntimeError("process killed between SMTP accept and the record")

        crashing.ctx.after_send = crash
        with pytest.raises(RuntimeError, match="process killed"):
            crashing.answer(approval, "accept", by="sam")
    thread = approval.rsplit(".", 1)[0]
    code, out, _ = run(monkeypatch, capsys, "recover", thread)
    assert "L1: needs_check" in out and len(cli_env.envelopes) == 1
    assert code == 3


def test_a_run_with_failed_drafts_exits_1(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    dead_llm(monkeypatch)
    code, out, _ = run(monkeypatch, capsys, "run")
    assert "draft_failed" in out
    assert code == 1


def test_what_was_asked_for_exits_0(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    first = drafted_via_cli(monkeypatch, capsys)
    assert run(monkeypatch, capsys, "discard", first)[0] == 0
    second = drafted_via_cli(monkeypatch, capsys)
    code, out, _ = run(monkeypatch, capsys, "respond", second, "Shorter, please")
    assert code == 0 and "awaiting_approval" in out
    assert run(monkeypatch, capsys, "approve", approval_id_in(out))[0] == 0
    code, out, _ = run(monkeypatch, capsys, "draft", "L1")  # just sent: the playbook says wait
    assert code == 0 and "L1: waiting" in out


# --- what an operator sees: whole ids, and JSON for scripts ----------------------------------

LONG_LEAD = "lead-0042-northwind-emea"


def test_the_inbox_never_cuts_ids_on_a_narrow_terminal(
    cli_env: CollectingHandler, tmp_path: Path, monkeypatch, capsys
) -> None:  # noqa: ANN001
    leads = tmp_path / "leads.jsonl"
    leads.write_text(json.dumps({**DANA, "id": LONG_LEAD, "email": "ops@northwind.example"}))
    assert run(monkeypatch, capsys, "import", "leads", str(leads))[0] == 0
    events = tmp_path / "events.jsonl"
    when = (datetime.now(UTC) - timedelta(days=4)).isoformat()
    events.write_text(
        json.dumps(
            {
                "lead_id": LONG_LEAD,
                "type": "whitepaper_download",
                "occurred_at": when,
                "properties": {"topic": "route optimisation"},
            }
        )
    )
    assert run(monkeypatch, capsys, "import", "events", str(events))[0] == 0
    approvals = [drafted_via_cli(monkeypatch, capsys, lead) for lead in ("L1", LONG_LEAD)]
    code, out, _ = run(monkeypatch, capsys, "inbox", columns=80)
    assert code == 0
    lines = out.splitlines()
    for approval in approvals:  # each id whole on one line, so it can be copied
        assert any(approval in line for line in lines), out
    assert any(LONG_LEAD in line for line in lines), out
    assert max(len(line) for line in lines) <= 80
    assert "scenario.whitepaper_case_study" in out  # the why stays readable too
    code, out, _ = run(monkeypatch, capsys, "inbox", "--lead", "L1", columns=80)
    assert code == 0 and approvals[0] in out and "scenario.whitepaper_case_study" in out


def test_inbox_and_review_as_json(cli_env: CollectingHandler, monkeypatch, capsys) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    code, out, _ = run(monkeypatch, capsys, "inbox", "--json", columns=40)
    assert code == 0
    [row] = json.loads(out)
    assert row["id"] == approval and row["lead_id"] == "L1" and row["status"] == "pending"
    assert row["stage"] == "interest" and row["violations"] == []
    code, out, _ = run(monkeypatch, capsys, "review", approval, "--json", columns=40)
    assert code == 0
    shown = json.loads(out)
    assert shown["id"] == approval and shown["body"].startswith("Hi Dana")
    assert shown["why"][0]["rule"] == "scenario.whitepaper_case_study"
    assert "Why now" in shown["explanation"]
    code, out, _ = run(monkeypatch, capsys, "inbox", "--json", "--lead", "nobody")
    assert code == 0 and json.loads(out) == []


def test_only_an_smtp_host_to_a_plain_server_names_the_starttls_setting(
    cli_env: CollectingHandler, monkeypatch, capsys
) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    monkeypatch.delenv("NURTURE_SMTP_STARTTLS")  # the default: STARTTLS on
    code, out, _ = run(monkeypatch, capsys, "approve", approval)
    assert code == 1 and "L1: send_failed" in out
    assert "NURTURE_SMTP_STARTTLS=false" in out and cli_env.envelopes == []


# --- sends: the list, sending a failed one again, and a human resolving an uncertain one ------


def test_a_failed_send_is_listed_and_sent_again(
    cli_env: CollectingHandler, monkeypatch, capsys
) -> None:  # noqa: ANN001
    approval = drafted_via_cli(monkeypatch, capsys)
    port = os.environ["NURTURE_SMTP_PORT"]
    monkeypatch.setenv("NURTURE_SMTP_PORT", str(free_port()))  # the mail server is down
    assert run(monkeypatch, capsys, "approve", approval)[0] == 1
    monkeypatch.setenv("NURTURE_SMTP_PORT", port)  # and back
    code, out, _ = run(monkeypatch, capsys, "sends", "--status", "failed", "--json")
    assert code == 0
    [row] = json.loads(out)
    assert row["approval_id"] == approval and row["status"] == "failed"
    code, out, _ = run(monkeypatch, capsys, "sends", columns=80)
    assert code == 0 and any(approval in line for line in out.splitlines()), out
    assert f"nurture resend {approval}" in out
    code, out, err = run(monkeypatch, capsys, "resend", approval, "--by", "dana")
    assert code == 0, err
    assert "L1: sent" in out
    [message] = cli_env.messages()
    assert message["Message-ID"] == row["message_id"]
    code, out, _ = run(monkeypatch, capsys, "sends", "--lead", "L1", "--json")
    [row] = json.loads(out)
    assert row["status"] == "sent"
    assert [(h["action"], h["by"], h["from_status"]) for h in row["history"]] == [
        ("resend", "dana", "failed")
    ]
    code, _, err = run(monkeypatch, capsys, "resend", approval)
    assert code == 2 and "already sent" in err and len(cli_env.envelopes) == 1


def test_uncertain_sends_are_listed_and_resolved_by_a_human(
    cli_env: CollectingHandler, monkeypatch, capsys
) -> None:  # noqa: ANN001
    approvals = [drafted_via_cli(monkeypatch, capsys, lead) for lead in ("L1", "L2")]
    port = os.environ["NURTURE_SMTP_PORT"]
    for approval in approvals:
        with ScriptedSmtpServer(after_data=None) as server:
            monkeypatch.setenv("NURTURE_SMTP_PORT", str(server.port))
            assert run(monkeypatch, capsys, "approve", approval)[0] == 3
    monkeypatch.setenv("NURTURE_SMTP_PORT", port)
    code, out, _ = run(monkeypatch, capsys, "sends", "--status", "needs_check", "--json")
    assert code == 0 and {r["approval_id"] for r in json.loads(out)} == set(approvals)
    code, out, _ = run(monkeypatch, capsys, "sends", "--status", "needs_check")
    assert "nurture sends resolve ID --delivered" in out
    first, second = approvals
    code, _, err = run(monkeypatch, capsys, "resend", first)
    assert code == 2 and "sends resolve" in err
    code, _, err = run(monkeypatch, capsys, "sends", "resolve", first)
    assert code == 2 and "--delivered or --send-again" in err
    code, out, err = run(
        monkeypatch, capsys, "sends", "resolve", first, "--delivered", "--by", "dana"
    )
    assert code == 0, err
    code, out, err = run(
        monkeypatch, capsys, "sends", "resolve", second, "--send-again", "--by", "dana"
    )
    assert code == 0, err
    assert "L2: sent" in out and len(cli_env.envelopes) == 1
    code, out, _ = run(monkeypatch, capsys, "sends", "--json")
    by_id = {r["approval_id"]: r for r in json.loads(out)}
    assert by_id[first]["status"] == by_id[second]["status"] == "sent"
    assert by_id[first]["history"][0]["action"] == "delivered"
    assert by_id[second]["history"][0]["action"] == "send_again"
    code, out, _ = run(monkeypatch, capsys, "sends", "--status", "needs_check", "--json")
    assert json.loads(out) == []


def test_the_cli_refuses_a_second_draft_while_one_waits(cli_env, monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, err = run(monkeypatch, capsys, "draft", "L1")
    assert code == 0, err
    code, out, err = run(monkeypatch, capsys, "draft", "L1")
    assert code != 0 and "waiting for approval" in err, (code, out, err)
    assert "Traceback" not in err


def test_recover_takes_every_interrupted_state_or_says_why_not(
    cli_env: CollectingHandler,
    monkeypatch,
    capsys,  # noqa: ANN001
) -> None:
    from agent.settings import get_settings
    from agent.store.runs import record_run

    db = Database(get_settings().resolved_database_url)
    # accepted by a process that died before the graph ran: no checkpoint yet
    record_run(
        db,
        thread_id="L1:accepted",
        lead_id="L1",
        outcome="queued",
        at=datetime.now(UTC),
        playbook_version="v",
    )
    db.dispose()
    code, out, err = run(monkeypatch, capsys, "recover", "L1:accepted")
    assert code == 0 and "L1: awaiting_approval" in out, (code, out, err)
    approval = approval_id_in(out)
    code, out, err = run(monkeypatch, capsys, "recover", "L1:accepted")  # waits for a human
    assert code == 0 and f"nurture approve {approval}" in out, (code, out, err)
    code, out, err = run(monkeypatch, capsys, "discard", approval)
    assert code == 0, err
    code, out, err = run(monkeypatch, capsys, "recover", "L1:accepted")  # nothing left to do
    assert code == 0 and "L1: discarded" in out and "Traceback" not in err, (code, out, err)
    code, out, err = run(monkeypatch, capsys, "recover", "L1:nosuchthread")
    assert code == 2 and "no run with thread id" in err and "Traceback" not in err


def test_respond_with_the_template_drafter_applies_or_says_it_cannot(
    cli_env: CollectingHandler,
    monkeypatch,  # noqa: ANN001
    capsys,  # noqa: ANN001
) -> None:
    _, out, _ = run(monkeypatch, capsys, "draft", "L1")
    first = approval_id_in(out)
    _, out, _ = run(monkeypatch, capsys, "review", first, "--json")
    before = json.loads(out)

    feedback = "lose the detail line, mention they are a food manufacturer"
    code, out, _ = run(monkeypatch, capsys, "respond", first, feedback)
    assert code == 0
    applied = approval_id_in(out)
    _, out, _ = run(monkeypatch, capsys, "review", applied, "--json")
    after = json.loads(out)
    assert after["body"] != before["body"]
    assert "As a food manufacturer, you may find this especially relevant." in after["body"]
    assert after["notes"] == [
        "feedback applied by the template drafter: dropped the summary; mentioned that "
        "they are a food manufacturer"
    ]

    code, out, _ = run(monkeypatch, capsys, "respond", applied, "make it sing like Shakespeare")
    assert code == 0
    refused = approval_id_in(out)
    _, out, _ = run(monkeypatch, capsys, "review", refused)
    assert "the template drafter cannot apply this: 'make it sing like Shakespeare'" in out
    assert "NURTURE_LLM_BASE_URL" in out
