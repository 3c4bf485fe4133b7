"""Eval-run fixtures: the content library indexed once per session, and the core suite run once
with the offline template drafter (the gate, report and browser tests all read that one run)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.drafting.template import TemplateDrafter
from agent.settings import Settings
from evals.runner import EvalRun, run_suite
from evals.suites import CORE, Suite, load_suite
from evals.suites.loader import SUITES
from evals.world import open_index
from tests.utils.cli import run_nurture

HARD = SUITES / "hard.yaml"

Cli = Callable[..., tuple[int, str, str]]


def clean_settings(data_dir: Path, **values: Any) -> Settings:
    """Settings from nothing but the arguments: session fixtures are set up before the
    per-test fixture that clears the developer's NURTURE_* variables, so clear them here too."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("NURTURE_"):
                mp.delenv(name)
        return Settings(_env_file=None, data_dir=data_dir, **values)


@pytest.fixture(scope="session")
def core_suite() -> Suite:
    return load_suite(CORE)


@pytest.fixture(scope="session")
def hard_suite() -> Suite:
    return load_suite(HARD)


@pytest.fixture(scope="session")
def eval_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-data")


@pytest.fixture(scope="session")
def eval_collection(eval_data: Path) -> Any:
    """The shipped content library in a Chroma store of its own, embedded once per session."""
    return open_index(clean_settings(eval_data), eval_data / "index")


@pytest.fixture(scope="session")
def core_template_run(eval_data: Path, eval_collection: Any, core_suite: Suite) -> EvalRun:
    return run_suite(
        core_suite,
        clean_settings(eval_data),
        drafter=TemplateDrafter(),
        collection=eval_collection,
    )


@pytest.fixture(scope="session")
def hard_template_run(eval_data: Path, eval_collection: Any, hard_suite: Suite) -> EvalRun:
    return run_suite(
        hard_suite,
        clean_settings(eval_data),
        drafter=TemplateDrafter(),
        collection=eval_collection,
    )


@pytest.fixture
def nurture_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs `nurture ARGS` in-process through the real entry point: (exit code, out, err)."""

    return lambda *args: run_nurture(monkeypatch, capsys, *args)


@pytest.fixture
def small_suite_file(tmp_path: Path, core_suite: Suite) -> Iterator[Path]:
    """The core suite cut to one emailing and one suppressed case, as a YAML file."""
    import yaml

    keep = ["aware-blog-reader-logistics"]
    keep += [c.id for c in core_suite.cases if c.expect.action == "suppress"][:1]
    data = yaml.safe_load(CORE.read_text())  # raw, so durations stay as written ("6d")
    data["name"] = "core-small"
    data["cases"] = [c for c in data["cases"] if c["id"] in keep]
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    yield path
