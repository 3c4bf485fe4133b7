"""The playbook preview page: the candidate's YAML in a form, and once previewed, one matrix per
transition table (rows: the playbook in force, columns: the candidate; a cell is how many
leads, with a few of them linked), what moves, the rules that fire more or less often, and the
waiting drafts the candidate would make stale."""

from __future__ import annotations

from dataclasses import dataclass

from agent.preview import Cell, Preview, RuleShift

TITLES = {"stage": "Stage", "action": "Next action", "hot": "Hot (MQL)"}


@dataclass(frozen=True, slots=True)
class MatrixRow:
    before: str
    cells: list[tuple[str, Cell | None]]
    """(candidate's value, the leads moving there) per column."""


@dataclass(frozen=True, slots=True)
class Matrix:
    name: str
    title: str
    labels: list[str]
    rows: list[MatrixRow]


@dataclass(frozen=True, slots=True)
class Move:
    title: str
    before: str
    after: str
    cell: Cell


@dataclass(frozen=True, slots=True)
class PreviewView:
    result: Preview
    matrices: list[Matrix]
    moves: list[Move]
    shifts: list[RuleShift]


def preview_view(result: Preview) -> PreviewView:
    matrices = [_matrix(result, name) for name in ("stage", "action", "hot")]
    moves = [
        Move(TITLES[name], before, after, cell)
        for name in ("stage", "action", "hot")
        for (before, after), cell in sorted(result.table(name).items(), key=lambda c: -c[1].count)
        if before != after
    ]
    return PreviewView(result, matrices, moves, result.rule_shifts())


def _matrix(result: Preview, name: str) -> Matrix:
    labels = result.labels(name)
    table = result.table(name)
    rows = [
        MatrixRow(before, [(after, table.get((before, after))) for after in labels])
        for before in labels
    ]
    return Matrix(name, TITLES[name], labels, rows)
