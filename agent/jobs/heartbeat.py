"""A long job keeps its worker's heartbeat going itself. procrastinate stops a worker's heartbeat
as soon as it is asked to stop (SIGTERM) and only then waits for the jobs it holds; a job that
takes longer than the stall timeout to finish would be declared stalled and run a second time by
another worker while this one still runs it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from procrastinate import JobContext

P = ParamSpec("P")
T = TypeVar("T")


async def with_heartbeat(
    context: JobContext,
    every: float,
    work: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Runs `work` on a thread (as procrastinate runs a synchronous task) while the worker's
    heartbeat is renewed every `every` seconds, whether or not the worker is draining."""
    beat = asyncio.create_task(_beat(context, every))
    try:
        return await asyncio.to_thread(work, *args, **kwargs)
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def _beat(context: JobContext, every: float) -> None:
    worker = context.job.worker_id
    if worker is None:
        return
    while True:
        await asyncio.sleep(every)
        await context.app.job_manager.update_heartbeat(worker)
