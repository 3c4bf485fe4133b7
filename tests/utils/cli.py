"""Runs the `nurture` command in-process through its real entry point."""

from __future__ import annotations

import sys

import pytest

from cli import main


def run_nurture(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    columns: int = 200,
) -> tuple[int, str, str]:
    """`nurture ARGS`: (exit code, stdout, stderr). Rich wraps at the terminal width: the wide
    default keeps lines whole; pass `columns` to see what a narrow terminal shows."""
    monkeypatch.setattr(sys, "argv", ["nurture", *args])
    monkeypatch.setenv("COLUMNS", str(columns))
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err
