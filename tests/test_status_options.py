"""`nurture jobs --status` and `nurture sends --status` take one of their statuses: another
word is a usage error (exit 2) that names the option and the statuses, never a traceback."""

from __future__ import annotations

import pytest

from tests.utils.cli import run_nurture


@pytest.mark.parametrize(
    ("command", "statuses"),
    [("jobs", ("todo", "failed")), ("sends", ("scheduled", "needs_check", "cancelled"))],
)
def test_a_status_that_does_not_exist_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    statuses: tuple[str, ...],
) -> None:
    code, out, err = run_nurture(monkeypatch, capsys, command, "--status", "broken")
    assert code == 2, out + err
    assert "--status" in err and "'broken'" in err and "Traceback" not in err
    assert all(status in err for status in statuses), err
