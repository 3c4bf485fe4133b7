"""A saved run as one self-contained HTML file: what ran, the metrics overall and by stage (a
chart and a table), and every case with its decision, its draft and each check's verdict.

No external CSS, fonts or scripts: the file is an artefact people attach to a pull request or a
CI run and open anywhere, so everything it needs is inside it. Every value from the run is
escaped: a draft is model output and may contain markup."""

from __future__ import annotations

from html import escape
from typing import Any

from agent.charts import Size, grouped_bars, percent
from agent.playbook import STAGES
from evals.records import CaseRecord
from evals.runner import EvalRun

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;
max-width:1180px;padding:0 16px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.facts{display:flex;flex-wrap:wrap;gap:8px 22px;margin:10px 0;color:#444}
.facts b{color:#1b1f24}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f7f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#c62828;font-weight:600}.na{color:#888}
details{border:1px solid #e3e6ea;border-radius:6px;margin:6px 0;padding:6px 10px}
details[open]{background:#fcfcfd}summary{cursor:pointer}
pre{white-space:pre-wrap;background:#f5f7f9;padding:8px;border-radius:4px;font-size:13px}
.chart svg{max-width:100%;height:auto}
.muted{color:#666}
"""


def render_report(run: EvalRun) -> str:
    s = run.summary
    title = f"Eval {s['suite']} · {s['drafter']} · {s['run_id']}"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            _facts(s),
            "<h2>Pass rate by check and stage</h2>",
            f'<div class="chart">{pass_rate_chart(s)}</div>',
            "<h2>Metrics</h2>",
            _metrics_table(s),
            f"<h2>Cases ({s['passed']} of {s['cases']} pass every check)</h2>",
            *(_case(r) for r in sorted(run.records, key=lambda r: (r.passed, r.case_id))),
            "</body></html>",
        ]
    )


def _facts(s: dict[str, Any]) -> str:
    cost = s["cost"]
    usd = "unknown" if cost["usd"] is None else f"${cost['usd']:.4f}"
    items = {
        "suite": s["suite"],
        "drafter": s["drafter"],
        "prompt": s["prompt_version"],
        "playbook": s["playbook_version"],
        "cases": f"{s['passed']}/{s['cases']} passed",
        "pass rate": _pct(s["metrics"]["pass_rate"]),
        "tokens": f"{s['tokens']['total_tokens']:,}",
        "cost": f"{usd} ({cost['basis']})",
        "latency": f"p50 {s['latency_ms']['p50']} ms · p95 {s['latency_ms']['p95']} ms",
        "started": s["started_at"],
    }
    return (
        '<div class="facts">'
        + "".join(f"<span>{escape(k)}: <b>{escape(str(v))}</b></span>" for k, v in items.items())
        + "</div>"
    )


def pass_rate_chart(s: dict[str, Any]) -> str:
    """Inline SVG: per check (along x), one bar per stage with the share of its cases that pass;
    a check not measured at a stage draws no bar there."""
    stages: list[str] = [st for st in STAGES if st in s["by_stage"]]
    rows: dict[str, dict[str, float | None]] = {
        metric.removeprefix("checks."): {st: s["by_stage"][st].get(metric) for st in stages}
        for metric in s["metrics"]
    }
    return grouped_bars(
        "Pass rate per check, by the case's stage",
        rows,
        columns=stages,
        formatter=percent,
        shares=True,
        size=Size(width=1140, height=440, label_rotation=45),
    )


def _metrics_table(s: dict[str, Any]) -> str:
    stages = [st for st in STAGES if st in s["by_stage"]]
    gates = s.get("gates", {})
    head = "".join(f"<th>{escape(st)} ({s['by_stage'][st]['cases']})</th>" for st in stages)
    rows = []
    for metric, value in s["metrics"].items():
        gate = gates.get(metric)
        cells = "".join(
            f'<td class="num">{_pct(s["by_stage"][st].get(metric))}</td>' for st in stages
        )
        gate_text = "" if gate is None else f"max drop {gate:g}"
        rows.append(
            f"<tr><td>{escape(metric)}</td><td class='num'><b>{_pct(value)}</b></td>{cells}"
            f"<td class='muted'>{escape(gate_text)}</td></tr>"
        )
    return (
        f"<table><tr><th>metric</th><th>all ({s['cases']})</th>{head}<th>gate</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _case(r: CaseRecord) -> str:
    mark = '<span class="ok">✓</span>' if r.passed else '<span class="bad">✗</span>'
    failed = f" · fails {escape(', '.join(r.failed()))}" if r.failed() else ""
    head = (
        f"{mark} <b>{escape(r.case_id)}</b> · {escape(str(r.stage))} / {escape(str(r.action))}"
        f" · {escape(r.outcome)}{failed}"
    )
    expected = r.expected
    parts = [
        f"<details id='case-{escape(r.case_id)}'{'' if r.passed else ' open'}>",
        f"<summary>{head}</summary>",
        f"<p>{escape(r.description)}</p>",
        "<table>",
        _row(
            "expected",
            f"{expected['stage']} / {expected['action']} ({expected['rule'] or 'any rule'})",
        ),
        _row("decided", f"{r.stage} / {r.action} ({r.rule})"),
        _row("why", r.reason or ""),
        _row("outcome", f"{r.outcome}: {r.outcome_detail or ''}"),
        _row("drafter", f"{r.drafter or '-'} (prompt {r.prompt_version or '-'})"),
        _row("tokens", f"{r.tokens.get('total_tokens', 0):,} in {r.draft_calls} drafter call(s)"),
        _row("latency", f"{r.latency_ms:.0f} ms"),
        "</table>",
    ]
    if r.error:
        parts.append(f"<p class='bad'>error: {escape(r.error)}</p>")
    if r.subject is not None:
        parts += [
            f"<p><b>Subject:</b> {escape(r.subject)}</p>",
            f"<pre>{escape(r.body or '')}</pre>",
            f"<p class='muted'>cites: {escape(', '.join(r.cited_asset_ids) or 'nothing')}</p>",
        ]
    if r.guardrail_violations:
        items = "".join(
            f"<li><code>{escape(v.get('rule', ''))}</code>: {escape(v.get('message', ''))}</li>"
            for v in r.guardrail_violations
        )
        parts.append(f"<p class='bad'>guardrails still failing after revision:</p><ul>{items}</ul>")
    parts.append("<table><tr><th>check</th><th>verdict</th><th>detail</th><th>score</th></tr>")
    for c in r.checks:
        verdict = {True: ("ok", "pass"), False: ("bad", "FAIL"), None: ("na", "n/a")}[c.passed]
        score = "" if c.score is None else f"{c.score:g}"
        parts.append(
            f"<tr><td>{escape(c.name)}</td><td class='{verdict[0]}'>{verdict[1]}</td>"
            f"<td>{escape(c.detail)}</td><td class='num'>{score}</td></tr>"
        )
    parts.append("</table></details>")
    return "".join(parts)


def _row(label: str, value: str) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"
