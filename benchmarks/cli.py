"""Start-up benchmark: `nurture --help` and `nurture next LEAD` as whole processes, against
`python -c pass` and `python -c "import sqlalchemy"`, interleaved round by round.

Seeds demo leads into a fresh SQLite file under benchmarks/.data/cli/ (migrated once, so `next`
finds the schema current, as on any machine after the first command), then runs the four
commands in alternating order each round. Targets (issue #13): `nurture next` <= 0.6 s and
<= 2.5x `import sqlalchemy`, both as interleaved medians.

With `--baseline PATH/TO/nurture` (another checkout's venv, e.g. main's), that `nurture` runs
`--help` and `next` in the same rounds, on the same database, so a change is measured against
what it changes under the same load.

Run:  python benchmarks/cli.py [--rounds 15] [--leads 200] [--baseline OTHER/.venv/bin/nurture]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running this file puts benchmarks/ first on sys.path, where `cli` would be this very file; the
# project root in front makes `cli` and `agent` the packages again (and `benchmarks` importable).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

from agent.demo.generator import generate
from agent.playbook import load_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from benchmarks.measure import (
    Figure,
    Spread,
    console,
    interleave,
    print_figures,
    print_machine,
    ratios,
    sec,
    times,
)

DATA = Path(__file__).resolve().parent / ".data" / "cli"
NURTURE = str(Path(sys.executable).parent / "nurture")
NEXT_TARGET_S = 0.6
NEXT_RATIO_TARGET = 2.5


def seed(leads: int) -> str:
    """A fresh, migrated SQLite database with demo leads; returns one lead's id."""
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    now = datetime.now(UTC)
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    db = Database(f"sqlite:///{DATA / 'nurture.db'}")
    db.migrate()
    lead_rows, event_rows = generate(seed=13, now=now, count=leads)
    upsert_leads(db, lead_rows, playbook, now=now)
    ingest_events(db, event_rows, playbook, now=now)
    db.dispose()
    return str(lead_rows[len(lead_rows) // 2]["id"])


def command(args: list[str], env: dict[str, str]) -> Callable[[], object]:
    def run() -> None:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-1500:]}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument(
        "--baseline", type=Path, help="another `nurture` to time in the same rounds (e.g. main's)"
    )
    args = parser.parse_args()
    lead_id = seed(args.leads)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env["NURTURE_DATA_DIR"] = str(DATA)
    python = sys.executable
    subjects = {
        "python -c pass": command([python, "-c", "pass"], env),
        "python -c 'import sqlalchemy'": command([python, "-c", "import sqlalchemy"], env),
        "nurture --help": command([NURTURE, "--help"], env),
        f"nurture next {lead_id}": command([NURTURE, "next", lead_id], env),
    }
    if args.baseline:
        baseline = str(args.baseline)
        subjects["baseline --help"] = command([baseline, "--help"], env)
        subjects["baseline next"] = command([baseline, "next", lead_id], env)
    samples = interleave(subjects, rounds=args.rounds, warmups=1, label="processes")
    names = list(subjects)
    bare, sqla, helped, nxt = (samples[name] for name in names[:4])
    next_spread = Spread.of(nxt)
    next_ratio = Spread.of(ratios(nxt, sqla))
    figures = [Figure(name, Spread.of(samples[name]).text(sec)) for name in names[:3]]
    figures += [
        Figure(
            names[3],
            next_spread.text(sec),
            f"<= {NEXT_TARGET_S} s",
            next_spread.median <= NEXT_TARGET_S,
        ),
        Figure(
            "nurture next / import sqlalchemy (per round)",
            next_ratio.text(times),
            f"<= {NEXT_RATIO_TARGET}×",
            next_ratio.median <= NEXT_RATIO_TARGET,
        ),
        Figure("nurture --help / import sqlalchemy", Spread.of(ratios(helped, sqla)).text(times)),
        Figure("nurture next − python -c pass", sec(next_spread.median - Spread.of(bare).median)),
    ]
    if args.baseline:
        figures += [
            Figure(f"baseline: {args.baseline}", ""),
            Figure("baseline --help", Spread.of(samples["baseline --help"]).text(sec)),
            Figure("baseline next", Spread.of(samples["baseline next"]).text(sec)),
            Figure(
                "baseline next / import sqlalchemy (per round)",
                Spread.of(ratios(samples["baseline next"], sqla)).text(times),
            ),
            Figure(
                "nurture next / baseline next (per round)",
                Spread.of(ratios(nxt, samples["baseline next"])).text(times),
            ),
            Figure(
                "nurture --help / baseline --help (per round)",
                Spread.of(ratios(helped, samples["baseline --help"])).text(times),
            ),
        ]
    print_machine(f"; {args.rounds} interleaved rounds of whole processes")
    print_figures("start-up benchmark (median, p25–p75)", figures)
    console.print(f"data: {DATA} ({args.leads} demo leads)", highlight=False)


if __name__ == "__main__":
    main()
