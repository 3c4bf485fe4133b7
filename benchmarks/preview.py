"""Benchmark of the playbook preview: every lead decided with the playbook in force and with a
candidate (the hot threshold 70 → 50), next to the bulk re-score of one playbook in the same
run, on SQLite.

The data set is benchmarks/decide.py's (the same builder and file, so `--reuse` shares it).
The preview runs in a child process started for it, so its peak memory (the child's maximum
resident set, from the kernel) is the preview's alone, not the builder's; a child that only
imports the same modules and opens the database gives the baseline it starts from.

Targets (issue #17): the preview of 100,000 leads with 2,000,000 events in <= 60 s, peak
memory <= 500 MB.

Run:  python benchmarks/preview.py [--leads N] [--events M] [--rounds R] [--db PATH] [--reuse]
      python benchmarks/preview.py --leads 100000 --events 2000000 --reuse   # the issue's size
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import resource
import subprocess
import time
from typing import Any

import yaml

from agent.playbook import Playbook, load_playbook, parse_playbook
from agent.settings import DEFAULT_PLAYBOOK
from benchmarks.decide import NOW, derive, open_sqlite
from benchmarks.measure import Figure, Spread, console, print_figures, print_machine, sec

SECONDS_TARGET = 60.0
MEMORY_TARGET_MB = 500.0


def candidate() -> Playbook:
    """The issue's change: MQL at 50 instead of 70, under another version (parsed from YAML as
    a marketer's file would be)."""
    data = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    data["version"] = "hot-at-50"
    data["scoring"]["hot_threshold"] = 50
    return parse_playbook(yaml.safe_dump(data, sort_keys=False), source="candidate")


def child(db_url: str, only_open: bool) -> None:
    """In the child process: preview (or only get ready to), then report on stdout."""
    from agent.content.assets import load_library
    from agent.preview import preview
    from agent.settings import DEFAULT_CONTENT
    from agent.store import Database

    current = load_playbook(DEFAULT_PLAYBOOK)
    db = Database(db_url)
    assets = {a.id: a for a in load_library(DEFAULT_CONTENT).assets}
    report: dict[str, Any] = {}
    if not only_open:
        started, cpu = time.perf_counter(), _cpu_seconds()
        result = preview(db, current, candidate(), assets, NOW)
        report = {
            "seconds": time.perf_counter() - started,
            "cpu_seconds": _cpu_seconds() - cpu,
            "leads": result.leads,
            "changed": result.changed,
            "became_hot": sum(
                cell.count for (a, b), cell in result.hot.items() if (a, b) == ("not hot", "hot")
            ),
        }
    report["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report))


def _cpu_seconds() -> float:
    """This process's user + system CPU time: on a shared machine, what the work itself cost
    (the wall clock also counts the time other processes held the cores)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_child(db_url: str, only_open: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", db_url]
    if only_open:
        command.append("--only-open")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the preview child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rescore_seconds(
    args: argparse.Namespace, playbook: Playbook, url: str
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each bulk re-score round."""
    from agent.store import Database
    from agent.store.scores import rescore_all

    db = Database(url)
    samples, cpu = [], []
    for _ in range(args.rounds):
        started, used = time.perf_counter(), _cpu_seconds()
        rescore_all(db, playbook, NOW)  # SQLite works in this process: its CPU is ours
        samples.append(time.perf_counter() - started)
        cpu.append(_cpu_seconds() - used)
    db.dispose()
    return samples, cpu


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5_000, help="issue size: 100000")
    parser.add_argument("--events", type=int, default=100_000, help="issue size: 2000000")
    parser.add_argument("--rounds", type=int, default=3, help="bulk re-score rounds")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: .data/)")
    parser.add_argument("--reuse", action="store_true", help="keep the file if it holds the data")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--only-open", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        child(args.child, args.only_open)
        return
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    db, _ = open_sqlite(args, playbook)
    derive(db, playbook)  # the store's signals and points as the playbook in force derives them
    url = db.url
    db.dispose()
    rescore, rescore_cpu = rescore_seconds(args, playbook, url)
    baseline = run_child(url, only_open=True)
    measured = run_child(url)
    console.print(
        f"preview: {measured['leads']:,} leads, {measured['changed']:,} would change, "
        f"{measured['became_hot']:,} become hot",
        highlight=False,
    )
    figures = [
        Figure(
            f"bulk re-score of one playbook (rescore_all), {args.rounds} rounds",
            Spread.of(rescore).text(sec),
        ),
        Figure("  its CPU time (median)", sec(Spread.of(rescore_cpu).median)),
        Figure(
            "preview: every lead decided with both playbooks",
            sec(measured["seconds"]),
            f"<= {SECONDS_TARGET:g} s",
            measured["seconds"] <= SECONDS_TARGET,
        ),
        Figure(
            "  its CPU time (about its wall clock on an idle core)",
            sec(measured["cpu_seconds"]),
            f"<= {SECONDS_TARGET:g} s",
            measured["cpu_seconds"] <= SECONDS_TARGET,
        ),
        Figure(
            "preview: ratio to the bulk re-score (median)",
            f"{measured['seconds'] / Spread.of(rescore).median:.1f}×",
        ),
        Figure(
            "preview: peak memory of its process (max RSS)",
            f"{measured['max_rss_mb']:.0f} MB",
            f"<= {MEMORY_TARGET_MB:g} MB",
            measured["max_rss_mb"] <= MEMORY_TARGET_MB,
        ),
        Figure(
            "  the same process before previewing (imports, playbook, library)",
            f"{baseline['max_rss_mb']:.0f} MB",
        ),
    ]
    print_machine(f"; {args.leads:,} leads, {args.events:,} events")
    print_figures("playbook preview benchmark", figures)


if __name__ == "__main__":
    main()
