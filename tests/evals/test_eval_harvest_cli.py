"""From an edit in the inbox to an eval case: `nurture eval harvest` writes the edited, sent
draft as a case with the approved text as its reference, and a run of that suite reports how
far the new draft is from what the marketer approved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.store.approvals import get_approval
from evals.runner import drafter_for, find_suite, run_suite
from tests.evals.conftest import Cli, clean_settings
from tests.utils.agent_world import World, drafted


def test_harvest_then_run_reports_the_edit_distance(
    world: World,
    nurture_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    eval_collection: Any,
    tmp_path: Path,
) -> None:
    approval_id = drafted(world)
    draft = get_approval(world.agent.ctx.db, approval_id)
    edited = draft.body.replace("Hi Dana,", "Hi Dana,\n\nThanks for reading our white paper.", 1)
    world.agent.answer(approval_id, "edit", by="mia", subject=draft.subject, body=edited)
    assert len(world.delivered()) == 1
    monkeypatch.setenv("NURTURE_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("NURTURE_DATABASE_URL", world.settings.resolved_database_url)
    out = tmp_path / "harvested.yaml"

    code, stdout, stderr = nurture_cli("eval", "harvest", "--out", str(out))

    assert code == 0, stderr
    assert "1 edited drafts harvested" in stdout
    suite = find_suite(str(out))  # the stock loader reads harvested files
    [case] = suite.cases
    assert case.source_approval_id == approval_id and case.reference is not None
    assert case.reference.body == edited
    run = run_suite(
        suite,
        clean_settings(tmp_path),
        drafter=drafter_for(clean_settings(tmp_path), "template"),
        collection=eval_collection,
    )
    [record] = run.records
    assert record.edit_distance is not None and 0 < record.edit_distance < 0.5
    assert run.summary["edit_distance"]["cases"] == 1
    # nothing more to harvest the second time, and the file keeps its one case
    assert nurture_cli("eval", "harvest", "--out", str(out))[0] == 0
    assert len(find_suite(str(out)).cases) == 1


def test_harvest_with_nothing_edited_says_so(
    world: World, nurture_cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NURTURE_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("NURTURE_DATABASE_URL", world.settings.resolved_database_url)
    code, _, stderr = nurture_cli("eval", "harvest", "--out", str(tmp_path / "h.yaml"))
    assert code == 2 and "no edited, sent drafts to harvest" in stderr
