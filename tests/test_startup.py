"""Start-up: a command imports only what it uses, and an up-to-date schema is checked without
Alembic. Asserted on the modules a real `nurture` process loaded, not on time."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.store import Database
from agent.store.database import MIGRATIONS
from cli import COMMANDS, load_command

HEAVY = ("langgraph", "chromadb", "alembic", "langchain_core", "fastapi", "procrastinate")
# what `next` has no use for: other commands' store modules, email validation (lead upserts),
# the progress bar of `scores`
NOT_FOR_NEXT = ("email_validator", "agent.store.scores", "agent.store.ingest", "rich.progress")
PLUGIN_SEARCH = "(pydantic's plugin search)"  # a pseudo-module: ~40 ms, and no plugin in use

# Runs `nurture ARGS` through its entry point, then prints the top-level packages it imported.
PROBE = """
import json, sys
sys.argv = ["nurture", *json.loads(sys.argv[1])]
from cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loader = sys.modules.get("pydantic.plugin._loader")
searched = loader is not None and loader._plugins is not None
print(json.dumps({"code": code, "modules": sorted(sys.modules), "plugins_searched": searched}))
"""


def nurture_modules(data_dir: Path, *args: str) -> tuple[int, set[str], str]:
    """Runs `nurture ARGS`; its exit code, every module it loaded (packages and their
    submodules, by full name) and its output."""
    env = {**os.environ, "NURTURE_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    last = json.loads(done.stdout.strip().splitlines()[-1])
    modules = set(last["modules"])
    if last["plugins_searched"]:  # read every installed package's entry points
        modules.add(PLUGIN_SEARCH)
    return int(last["code"] or 0), modules, done.stdout + done.stderr


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder whose database holds one lead with one event, already migrated."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text(
        json.dumps({"id": "L1", "email": "dana@northwind.example", "name": "Dana Reyes"}) + "\n"
    )
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps(
            {
                "id": "e-1",
                "lead_id": "L1",
                "type": "page_view",
                "occurred_at": "2026-11-20T09:30:00+01:00",
                "properties": {"path": "/pricing"},
            }
        )
        + "\n"
    )
    for kind, path in (("leads", leads), ("events", events)):
        code, _modules, output = nurture_modules(tmp_path, "import", kind, str(path))
        assert code == 0, output
    return tmp_path


def test_next_imports_neither_langgraph_nor_chroma_nor_alembic(data_dir: Path) -> None:
    code, modules, output = nurture_modules(data_dir, "next", "L1", "--json")
    assert code == 0, output
    assert '"lead_id": "L1"' in output
    assert sorted(modules & set(HEAVY)) == []


def test_next_imports_nothing_only_other_commands_use(data_dir: Path) -> None:
    code, modules, output = nurture_modules(data_dir, "next", "L1")
    assert code == 0, output
    assert "L1 · Dana Reyes" in output
    assert sorted(modules & {*NOT_FOR_NEXT, PLUGIN_SEARCH}) == []


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    code, modules, output = nurture_modules(tmp_path, "--help")
    assert code == 0, output
    listed = {line.split()[1] for line in output.splitlines() if line.startswith("│ ")}
    assert listed >= {*COMMANDS, "db-upgrade"}
    assert sorted(name for name in modules if name.startswith("cli.")) == []
    assert sorted(modules & {"sqlalchemy", "pydantic", "agent.store", *HEAVY}) == []
    assert not (tmp_path / "nurture.db").exists()  # listing opened no database


def test_help_shows_each_commands_own_summary() -> None:
    # the one-line summaries live beside the import paths; they must not drift from the code
    for name in COMMANDS:
        help_text = load_command(name).help or ""
        first_paragraph = inspect.cleandoc(help_text).split("\n\n")[0]
        assert COMMANDS[name].summary == " ".join(first_paragraph.split()), name


def test_a_database_behind_the_head_is_still_migrated(tmp_path: Path) -> None:
    # the cheap check must not mistake an old schema for a current one
    url = f"sqlite:///{tmp_path / 'old.db'}"
    from alembic import command
    from alembic.config import Config

    from agent.store.database import head_revision

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0007")
    db = Database(url)
    assert db.schema_revision() == "0007"
    db.migrate()
    assert db.schema_revision() == head_revision()


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from agent.store.database import head_revision

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
