"""`make bench` runs each script as `python benchmarks/NAME.py`, which puts benchmarks/ first on
sys.path: a script named like a package (agent, api, cli) must not shadow it for the others.
Each script must at least import and parse its arguments that way."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE_SCRIPTS = re.findall(r"python (benchmarks/\w+\.py)", (ROOT / "Makefile").read_text())


def test_make_bench_runs_every_script() -> None:
    scripts = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "benchmarks").glob("*.py")
        if p.name not in ("__init__.py", "measure.py")
    )
    assert sorted(MAKEFILE_SCRIPTS) == scripts


@pytest.mark.parametrize("script", MAKEFILE_SCRIPTS)
def test_benchmark_script_imports_as_make_bench_runs_it(script: str) -> None:
    done = subprocess.run(
        [sys.executable, script, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
