"""Process-wide runtime tuning, applied once at start-up by the CLI (and the service)."""

from __future__ import annotations

import gc


def freeze_startup_heap(*, collect: bool = True) -> None:
    """Moves everything imported so far out of the collector's reach, and (re-)enables it.

    A decision allocates thousands of small objects; each full collection would otherwise walk
    the whole start-up heap (SQLAlchemy, pydantic, chromadb), a 40 ms pause that dominated the
    p99 of `next` (benchmarks/decide.py). Raising the first threshold makes those passes rarer.

    `collect=False` skips the collection first: what start-up leaves as garbage is then kept,
    frozen, which a command line that just imported its modules can afford (the collection
    itself costs ~40 ms there)."""
    if collect:
        gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    gc.enable()
