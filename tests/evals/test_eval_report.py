"""The saved run and its HTML report: the run folder round-trips, the report is self-contained
and escapes what drafts say, and (in Debian's Chromium, via Playwright) its chart renders.
The screenshot goes to tests/artifacts/eval-report.png for a person to look at."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from evals.report import pass_rate_chart, render_report
from evals.runner import EvalRun, load_run, save_run
from tests.evals.conftest import Cli
from tests.utils.browser import artifact, chromium, needs_chromium
from tests.utils.charts import drawn_bars, first_svg


@pytest.fixture
def saved(core_template_run: EvalRun, tmp_path: Path) -> Path:
    return save_run(core_template_run, tmp_path)


def test_a_saved_run_has_one_line_per_case_and_round_trips(
    saved: Path, core_template_run: EvalRun
) -> None:
    assert saved.name.startswith("core-") and saved.name.endswith(
        core_template_run.summary["run_id"]
    )
    lines = (saved / "cases.jsonl").read_text().splitlines()
    assert len(lines) == 50
    first = json.loads(lines[0])
    for key in (
        "case_id",
        "stage",
        "action",
        "rule",
        "subject",
        "body",
        "drafter",
        "checks",
        "tokens",
        "latency_ms",
        "passed",
    ):
        assert key in first
    loaded = load_run(saved)
    assert loaded.summary == json.loads(json.dumps(core_template_run.summary))
    assert [r.to_json() for r in loaded.records] == [r.to_json() for r in core_template_run.records]


def test_the_report_is_self_contained_and_shows_every_case(saved: Path) -> None:
    html = render_report(load_run(saved))
    assert html.startswith("<!doctype html>")
    # nothing fetched from anywhere: no scripts, stylesheets, images or fonts by reference
    assert not re.search(r"<script|<link|<img|@import|url\(|\ssrc=", html, re.IGNORECASE)
    for record in load_run(saved).records:
        assert f"id='case-{record.case_id}'" in html
    # the chart draws each stage's pass rate of each check, as the metrics table gives it
    summary = load_run(saved).summary
    expected = {
        (stage, metric.removeprefix("checks."), f"{value:.0%}")
        for stage, row in summary["by_stage"].items()
        for metric in summary["metrics"]
        if (value := row.get(metric)) is not None
    }
    drawn = {(b.series, b.label, b.value) for b in drawn_bars(first_svg(html))}
    assert drawn == expected and len(expected) > 50
    assert "Flesch reading ease" in html  # the checks' details are in it
    assert "template-v4" in html and "default-2026.11" in html


def test_the_report_escapes_what_a_draft_says(core_template_run: EvalRun) -> None:
    record = next(r for r in core_template_run.records if r.subject)
    evil = replace(record, subject="<script>alert(1)</script>", body="<b>bold</b> & more")
    html = render_report(EvalRun(core_template_run.summary, [evil]))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html


def test_the_chart_draws_no_bar_for_a_metric_not_measured() -> None:
    summary = {
        "metrics": {"pass_rate": 0.75, "checks.grounding": 1.0},
        "by_stage": {
            "awareness": {"cases": 2, "pass_rate": 0.5, "checks.grounding": None},
            "decision": {"cases": 1, "pass_rate": 1.0},
        },
    }
    bars = drawn_bars(pass_rate_chart(summary))
    assert [(b.series, b.label, b.value) for b in bars] == [
        ("awareness", "pass_rate", "50%"),
        ("decision", "pass_rate", "100%"),
    ]
    assert bars[0].height == pytest.approx(bars[1].height / 2)  # on a 0-100 % axis


def test_eval_report_cli_writes_the_file(saved: Path, tmp_path: Path, nurture_cli: Cli) -> None:
    target = tmp_path / "out" / "report.html"
    code, out, err = nurture_cli("eval", "report", str(saved), "--out", str(target))
    assert code == 0, err
    assert target.read_text().startswith("<!doctype html>") and str(target) in out
    code, _, err = nurture_cli("eval", "report", str(tmp_path / "missing"))
    assert code == 2 and "no eval run at" in err


@needs_chromium
def test_the_report_chart_renders_in_chromium(saved: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text(render_report(load_run(saved)), encoding="utf-8")
    screenshot = artifact("eval-report.png")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(report.as_uri())
        bars: list[dict[str, Any]] = page.evaluate(
            """() => [...document.querySelectorAll('svg g.bar > rect')].map(r => {
                const b = r.getBoundingClientRect();
                const classes = [...r.closest('g.series').classList];
                const serie = classes.find(c => c.startsWith('serie-'));
                const legend = document.querySelector(`#activate-${serie} text`);
                return {w: b.width, h: b.height, series: legend.textContent};
            })"""
        )
        page.screenshot(path=str(screenshot))
        cases = page.evaluate("document.querySelectorAll('details').length")
    # 4 stages × (pass_rate + 20 checks measured in the core suite: every check but the
    # multi-turn redraft_changed, which needs a feedback step and core has none)
    assert len(bars) == 4 * 21
    assert all(b["w"] > 0 for b in bars)
    assert sum(1 for b in bars if b["h"] > 0) >= 50  # a 0 % bar is legitimately flat
    assert {b["series"] for b in bars} == {"awareness", "interest", "consideration", "decision"}
    assert cases == 50
    assert screenshot.stat().st_size > 10_000
