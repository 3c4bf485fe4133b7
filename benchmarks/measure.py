"""What every benchmark shares: interleaved timing, spread, figures with their targets, and
finding the PostgreSQL server the PostgreSQL-only figures need.

On a shared, noisy machine a subject and its floor timed in separate phases can drift apart by
2x from load alone; timed in alternating rounds they see the same load, and the per-round ratio
keeps that pairing. Each figure says its target and whether it was met."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

# a fixed width when piped, so tables are not wrapped at 80 columns in `make bench` logs
console = Console(width=None if sys.stdout.isatty() else 120)

PG_URL_VARIABLES = ("NURTURE_BENCH_DATABASE_URL", "NURTURE_TEST_DATABASE_URL")


def progress_bar(transient: bool = True) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and spread of one set of samples."""

    median: float
    p25: float
    p75: float
    p99: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, samples: list[float]) -> Spread:
        if not samples:
            raise ValueError("no samples")
        return cls(
            statistics.median(samples),
            percentile(samples, 0.25),
            percentile(samples, 0.75),
            percentile(samples, 0.99),
            min(samples),
            max(samples),
            len(samples),
        )

    def text(self, unit: Callable[[float], str]) -> str:
        return f"{unit(self.median)} (p25–p75 {unit(self.p25)}–{unit(self.p75)})"


def interleave(
    subjects: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    warmups: int = 2,
    label: str = "interleaved rounds",
) -> dict[str, list[float]]:
    """Wall time of each subject, one call of each per round (see interleave_rounds)."""
    return interleave_rounds(lambda _: subjects, rounds=rounds, warmups=warmups, label=label)


def interleave_rounds(
    make_round: Callable[[int], Mapping[str, Callable[[], object]]],
    *,
    rounds: int,
    warmups: int = 2,
    label: str = "interleaved rounds",
) -> dict[str, list[float]]:
    """Wall time of each subject `make_round(i)` gives for round i (the same input for all of a
    round's subjects), one call each, the order rotated every round so none always runs first (a
    cache warmed by the previous call favours whoever follows). Warm-up rounds are not kept."""
    samples: dict[str, list[float]] = {}
    with progress_bar() as progress:
        task = progress.add_task(label, total=warmups + rounds)
        for index in range(warmups + rounds):
            subjects = make_round(index)
            names = list(subjects)
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                subjects[name]()
                elapsed = time.perf_counter() - started
                if index >= warmups:
                    samples.setdefault(name, []).append(elapsed)
            progress.advance(task)
    return samples


def ratios(subject: list[float], floor: list[float]) -> list[float]:
    """Per-round ratios of two interleaved series (round i of one against round i of the other)."""
    return [s / f for s, f in zip(subject, floor, strict=True)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def sec(seconds: float) -> str:
    return f"{seconds:.3f} s"


def times(ratio: float) -> str:
    return f"{ratio:.2f}×"


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: str
    target: str = ""
    met: bool | None = None


def print_figures(title: str, figures: list[Figure]) -> None:
    table = Table(title=title)
    for column in ("figure", "value", "target", "verdict"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for f in figures:
        verdict = "" if f.met is None else ("met" if f.met else "[red]missed[/red]")
        table.add_row(f.name, f.value, f.target, verdict)
    console.print(table)


def print_machine(extra: str = "") -> None:
    """What the figures were taken on; the load average says how busy the machine was."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, python "
        f"{platform.python_version()}; load average {load}{extra}; wall clock, shared host: "
        "compare figures within one run",
        highlight=False,
    )


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (children not included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_server() -> tuple[str | None, str]:
    """(SQLAlchemy URL of a PostgreSQL server that answers, or None; why not)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    for variable in PG_URL_VARIABLES:
        url = os.environ.get(variable)
        if not url:
            continue
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            return None, f"{variable} does not answer: {str(error).splitlines()[0]}"
        finally:
            engine.dispose()
        return url, f"PostgreSQL from {variable}"
    return None, f"no PostgreSQL server: set {' or '.join(PG_URL_VARIABLES)}"


def skip(what: str, reason: str) -> None:
    console.print(f"[yellow]skipped[/yellow] {what}: {reason}", highlight=False)
