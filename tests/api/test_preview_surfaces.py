"""The playbook preview where marketers use it: `POST /v1/playbook/preview`, `nurture playbook
preview FILE`, and the page shown before activation (in Chromium). On the demo data with the
hot threshold 70 → 50, each shows the counts of deciding every lead one by one with each
playbook, as of the moment it says it previewed."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.content.assets import Asset, load_library
from agent.jobs.previews import accept_preview
from agent.playbook import load_playbook, parse_playbook
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.leads import all_lead_ids
from agent.store.previews import claim_preview, fail_preview, get_preview, record_progress
from api.main import create_app
from tests.api.test_csrf import page_token, sign_in
from tests.test_playbook_preview import candidate_text, one_by_one, seed_demo
from tests.utils.agent_world import World
from tests.utils.browser import artifact, chromium, needs_chromium
from tests.utils.cli import run_nurture
from tests.utils.serve import serve
from tests.utils.service import Service


@pytest.fixture(scope="module")
def assets() -> dict[str, Asset]:
    return {a.id: a for a in load_library(DEFAULT_CONTENT).assets}


@pytest.fixture
def demo(world: World, assets: dict[str, Asset]) -> World:
    seed_demo(world.agent.ctx.db, world.agent.ctx.playbook, assets)
    return world


def reference(
    db: Database, at: datetime, assets: dict[str, Asset]
) -> dict[str, Counter[tuple[str, str]]]:
    """Transition counts of deciding every lead one by one, as of `at`."""
    current = load_playbook(DEFAULT_PLAYBOOK)
    candidate = parse_playbook(candidate_text(), source="candidate")
    ref = one_by_one(db, current, candidate, assets, at)
    return {"stage": ref.stage, "action": ref.action, "hot": ref.hot}


def from_json(body: dict[str, object]) -> dict[str, Counter[tuple[str, str]]]:
    return {
        name: Counter({(c["before"], c["after"]): c["count"] for c in body[name]})  # type: ignore[attr-defined]
        for name in ("stage", "action", "hot")
    }


def wait_for_preview(service: Service, location: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = service.call("GET", location, "marketer")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"preview {location} still going after {timeout} s")


def test_the_api_accepts_a_preview_as_a_job_and_names_a_bad_playbook(
    demo: World, service: Service, assets: dict[str, Asset]
) -> None:
    response = service.call(
        "POST", "/v1/playbook/preview", "marketer", json={"yaml": candidate_text()}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    location = response.headers["location"]
    assert location == accepted["status_url"] == f"/v1/playbook/previews/{accepted['id']}"
    assert accepted["status"] in ("queued", "running", "done")

    job = wait_for_preview(service, location)
    assert job["status"] == "done", job
    assert job["id"] == accepted["id"] and job["requested_by"] == "marketer-1"
    assert job["leads_done"] == job["leads_total"] == 201
    body = job["result"]
    # the demo's 200 leads and the service fixture's own drafted lead
    assert body["leads"] == len(all_lead_ids(demo.agent.ctx.db)) == 201
    assert body["candidate_version"] == "hot-at-50"
    at = datetime.fromisoformat(body["at"])
    assert from_json(body) == reference(demo.agent.ctx.db, at, assets)
    assert any(c["before"] == "not hot" and c["after"] == "hot" for c in body["hot"])
    assert all(len(c["examples"]) <= 3 for c in body["action"])

    refused = service.call("POST", "/v1/playbook/preview", "rep", json={"yaml": candidate_text()})
    assert refused.status_code == 403
    assert service.call("GET", location, "rep").status_code == 403
    broken = service.call(
        "POST", "/v1/playbook/preview", "marketer", json={"yaml": "version: x\nsignals: 3\n"}
    )
    assert broken.status_code == 422
    assert "yaml" in broken.text and "signals" in broken.text
    unknown = service.call("GET", "/v1/playbook/previews/nope-1", "marketer")
    assert unknown.status_code == 404 and "no playbook preview with id 'nope-1'" in unknown.text


def test_a_preview_in_progress_shows_how_far_it_got_and_refreshes(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running on a worker of another host (so this service leaves it alone): the API and the
    page both show the leads done so far, and the page reloads itself until it is done."""
    db = service.world.agent.ctx.db
    preview_id, _ = accept_preview(service.world.agent.ctx, candidate_text(), by="mara")
    assert claim_preview(db, preview_id, worker="elsewhere:7", at=datetime.now(UTC))
    record_progress(db, preview_id, worker="elsewhere:7", done=500, total=1200)

    body = service.call("GET", f"/v1/playbook/previews/{preview_id}", "marketer").json()
    assert (body["status"], body["leads_done"], body["leads_total"]) == ("running", 500, 1200)
    assert body["result"] is None

    sign_in(service, "marketer")
    page = service.client.get(f"/playbook/previews/{preview_id}")
    assert page.status_code == 200, page.text
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', page.text)
    assert "500 of 1200 leads" in page.text and 'id="results"' not in page.text
    missing = service.client.get("/playbook/previews/nope-1")
    assert missing.status_code == 404 and "nope-1" in missing.text


def test_the_page_asks_for_a_job_names_a_bad_playbook_and_says_why_one_failed(
    service: Service,
) -> None:
    db, now = service.world.agent.ctx.db, datetime.now(UTC)
    sign_in(service, "marketer")
    token = page_token(service)
    bad = service.client.post(
        "/playbook/preview",
        data={"yaml": "version: x\nsignals: 3\n", "csrf_token": token},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "nothing was previewed" in bad.text
    assert "signals" in bad.text and "http-equiv" not in bad.text

    asked = service.client.post(
        "/playbook/preview",
        data={"yaml": candidate_text(), "csrf_token": token},
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    preview_id = asked.headers["location"].rsplit("/", 1)[-1]
    row = get_preview(db, preview_id)
    assert row is not None and row.requested_by == "marketer-1"

    failed, _ = accept_preview(service.world.agent.ctx, candidate_text(40, "hot-at-40"), by="m")
    assert claim_preview(db, failed, worker="elsewhere:7", at=now)
    fail_preview(db, failed, worker="elsewhere:7", error="the disk went away", at=now)
    page = service.client.get(f"/playbook/previews/{failed}")
    assert page.status_code == 200 and "the disk went away" in page.text
    assert "http-equiv" not in page.text, "a failed preview is over: no reloading"
    body = service.call("GET", f"/v1/playbook/previews/{failed}", "marketer").json()
    assert (body["status"], body["error"], body["result"]) == ("failed", "the disk went away", None)


def test_the_cli_prints_the_tables_and_the_same_json(
    demo: World,
    assets: dict[str, Asset],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NURTURE_DATABASE_URL", demo.settings.resolved_database_url)
    monkeypatch.setenv("NURTURE_DATA_DIR", str(demo.settings.data_dir))
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(candidate_text(), encoding="utf-8")
    code, out, err = run_nurture(
        monkeypatch, capsys, "playbook", "preview", str(candidate), "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    at = datetime.fromisoformat(body["at"])
    assert from_json(body) == reference(demo.agent.ctx.db, at, assets)

    code, out, err = run_nurture(monkeypatch, capsys, "playbook", "preview", str(candidate))
    assert code == 0, err
    assert "hot-at-50" in out and "not hot → hot" in out.replace("->", "→")
    hot = from_json(body)["hot"][("not hot", "hot")]
    assert f"not hot → hot: {hot} lead" in out

    (tmp_path / "broken.yaml").write_text("version: x\nsignals: 3\n", encoding="utf-8")
    code, out, err = run_nurture(
        monkeypatch, capsys, "playbook", "preview", str(tmp_path / "broken.yaml")
    )
    assert code == 2 and "signals" in out + err and "Traceback" not in out + err


@pytest.fixture
def site(demo: World) -> Iterator[tuple[str, str, str]]:
    now = datetime.now(UTC)
    marketer = create_key(demo.agent.ctx.db, name="mara", role="marketer", at=now)
    rep = create_key(demo.agent.ctx.db, name="rory", role="rep", at=now)
    with serve(create_app(demo.settings)) as url:
        yield url, marketer, rep


@needs_chromium
def test_the_preview_page_shows_the_counts_of_deciding_each_lead(
    demo: World, site: tuple[str, str, str], assets: dict[str, Asset]
) -> None:
    url, marketer, rep = site
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{url}/playbook/preview")
        page.fill("#key", marketer)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/playbook/preview")
        assert "default-2026.11" in page.input_value("#yaml"), "starts from the playbook in force"
        page.fill("#yaml", candidate_text())
        page.click("#preview")
        # a job: the page it lands on reloads itself until the preview is done
        page.wait_for_url(re.compile(r".*/playbook/previews/[^/]+$"))
        page.wait_for_selector("#results", timeout=90_000)
        assert "Preview a playbook" in page.inner_text("main")

        at = datetime.fromisoformat(page.get_attribute("#results time", "datetime") or "")
        shown = {
            name: Counter(
                {
                    (cell.get_attribute("data-before"), cell.get_attribute("data-after")): int(
                        cell.inner_text().split()[0]
                    )
                    for cell in page.locator(f"#{name}-table td[data-before]").all()
                }
            )
            for name in ("stage", "action", "hot")
        }
        expected = reference(demo.agent.ctx.db, at, assets)
        assert shown == expected
        assert "hot-at-50" in page.inner_text("#results")
        page.screenshot(path=str(artifact("playbook-preview-1280.png")), full_page=True)
        context.close()

        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{url}/playbook/preview")
        page.fill("#key", rep)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "Not allowed" in page.inner_text("main")
        context.close()
    assert errors == []
