"""`nurture handoffs` and rep keys with addresses on the command line: the list shows each
hand-off whole (id, lead, why, score, waiting, rep, state, SLA), accept and recycle change the
store with who and why, and bad input is a message with exit code 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from agent.store.api_keys import list_keys
from agent.store.handoffs import get_handoff, list_handoffs
from tests.utils.agent_world import World
from tests.utils.cli import run_nurture
from tests.utils.handoffs import hand_off, lead, make_rep


@pytest.fixture
def cli_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("NURTURE_DATABASE_URL", world.settings.resolved_database_url)
    return world


def test_a_rep_key_with_an_address(
    cli_world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_nurture(
        monkeypatch, capsys, "keys", "create", "--name", "Riley", "--role", "rep",
        "--email", "riley@routewise.example",
    )  # fmt: skip
    assert code == 0 and "Riley <riley@routewise.example>" in out
    [key] = list_keys(cli_world.agent.ctx.db)
    assert (key.role, key.email) == ("rep", "riley@routewise.example")
    code, _, err = run_nurture(
        monkeypatch, capsys, "keys", "create", "--name", "X", "--role", "rep", "--email", "nope"
    )
    assert code == 2 and "not an email address" in err and "Traceback" not in err


def test_list_accept_and_recycle(
    cli_world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cli_world.agent.ctx.db
    make_rep(db, "riley", "riley@routewise.example")
    first = hand_off(cli_world, lead(1, name="Ada Lovelace")).id
    second = hand_off(cli_world, lead(2)).id
    code, out, _ = run_nurture(monkeypatch, capsys, "handoffs")
    assert code == 0
    for expected in (
        first,
        second,
        "Ada Lovelace (L1",
        "handoff.demo_request",
        "riley@routewise.example",
        "delivered",
    ):
        assert expected in out
    code, out, _ = run_nurture(monkeypatch, capsys, "handoffs", "accept", first, "--by", "riley")
    assert code == 0 and f"{first}: accepted" in out
    code, _, err = run_nurture(monkeypatch, capsys, "handoffs", "recycle", second)
    assert code == 2 and "--reason" in err
    code, out, _ = run_nurture(
        monkeypatch, capsys, "handoffs", "recycle", second, "--reason", "Q3", "--by", "riley"
    )
    assert code == 0 and f"{second}: recycled" in out
    code, _, err = run_nurture(monkeypatch, capsys, "handoffs", "accept", second)
    assert code == 1 and "recycled" in err and "Traceback" not in err
    code, _, err = run_nurture(monkeypatch, capsys, "handoffs", "accept", "nope")
    assert code == 2 and "no hand-off" in err
    assert get_handoff(db, first).state == "accepted"  # type: ignore[union-attr]
    [item] = [h for h in list_handoffs(db) if h.row.id == second]
    assert (item.changes[-1].by, item.changes[-1].reason) == ("riley", "Q3")
    code, out, _ = run_nurture(monkeypatch, capsys, "handoffs", "--state", "accepted", "--json")
    assert [h["id"] for h in json.loads(out)] == [first]
