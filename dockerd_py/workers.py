"""The daemon's threads: one bounded pool per kind of blocking work, so that
no client and no container can starve the daemon of them.

- REQUESTS (the event loop's default executor, behind `asyncio.to_thread`):
  short blocking jobs of a request (a mount, a stat, a layer made or removed).
- STREAMS: one step of a stream at a time (a chunk of a log, of a tar). A
  stream holds no thread between its steps, so a client that stops reading,
  or a log follower of a silent container, costs no thread at all.
- HOUSEKEEPING: the daemon's own work (exits, log conversion and rotation,
  releasing what a run held), which never waits behind client work.
- `run_fed`: a consumer fed by a client's upload (an archive, a load, a
  build context) reads at the client's pace, so it gets a thread of its own,
  not one of a pool; at most FED_LIMIT of them at once, the rest wait on the
  event loop without holding anything.

None of the jobs given to a pool may wait on a client or on something a
container controls (files a container can swap are opened O_NONBLOCK)."""
from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
FED_LIMIT = 64


class Pool:
    """A named, bounded thread pool whose jobs are awaited from the event loop."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)

    def prestart(self) -> None:
        """Make every thread now (blocking, instantly): the daemon's thread count
        is then fixed from its start, whatever the load."""
        barrier = threading.Barrier(self.size + 1)
        for _ in range(self.size):
            self.executor.submit(barrier.wait)
        barrier.wait()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        ctx = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(
            self.executor, functools.partial(ctx.run, fn, *args))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.submit(fn, *args)


REQUESTS = Pool("requests", 6)
STREAMS = Pool("streams", 4)
HOUSEKEEPING = Pool("housekeeping", 3)

_fed_slots: asyncio.Semaphore | None = None


async def run_fed(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) on a thread of its own (it reads what a client sends, at the
    client's pace); a daemon thread, so that a client that stalls for ever
    holds up neither other work nor the daemon's exit."""
    global _fed_slots
    if _fed_slots is None:
        _fed_slots = asyncio.Semaphore(FED_LIMIT)
    async with _fed_slots:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def work() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the awaiting task
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)
        threading.Thread(target=work, name="fed", daemon=True).start()
        return await asyncio.shield(future)


def _settle(future: asyncio.Future, result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def install_default(loop: asyncio.AbstractEventLoop) -> None:
    """`asyncio.to_thread` and `run_in_executor(None, …)` use REQUESTS; every
    pool's threads are made now."""
    loop.set_default_executor(REQUESTS.executor)
    for pool in (REQUESTS, STREAMS, HOUSEKEEPING):
        pool.prestart()


def shutdown() -> None:
    """Stop taking work; running jobs end on their own (none waits on a client)."""
    for pool in (REQUESTS, STREAMS, HOUSEKEEPING):
        pool.executor.shutdown(wait=False, cancel_futures=True)
