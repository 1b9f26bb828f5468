"""Worker processes with a time budget per task: whatever a task does (raise, hang, crash its
worker) comes back as a Failure, and no worker outlives the parent."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from pebble import ProcessExpired, ProcessPool

from nianbao.result import failure_reason

Progress = Callable[[str, int, int], None]  # (phase, files done since the last call, files in the phase)

@dataclass(frozen=True)
class Failure:
    """What a job that went wrong returns: plain text, so it always crosses back from a worker."""

    reason: str
    error: str


def chunks(items: list, size: int) -> list[list]:
    return [items[i: i + size] for i in range(0, len(items), size)]


def _watch_parent() -> None:
    """In a worker: exit as soon as the parent is gone (killed, even by SIGKILL), so no worker
    outlives the run."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            threading.Event().wait(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _lost(exc: BaseException, budget: float) -> Failure:
    """What a task that never returned tells its file's result."""
    if isinstance(exc, FutureTimeout):
        return Failure(f"检查超过 {budget:.0f} 秒仍未完成，已停止（文件可能过大或结构异常）", "TimeoutError")
    if isinstance(exc, ProcessExpired):
        if exc.exitcode in (-9, 137):
            return Failure(failure_reason(MemoryError()), "MemoryError")
        return Failure(f"读取时程序异常退出（退出码 {exc.exitcode}），文件可能已损坏", "ProcessExpired")
    return Failure(failure_reason(exc), type(exc).__name__)


class Pool:
    """Worker processes with a time budget per task, for one batch."""

    def __init__(self, workers: int):
        self.pool = ProcessPool(max_workers=workers, max_tasks=200, initializer=_watch_parent)
        self.window = 4 * workers  # jobs in flight: enough that no worker waits for the next

    def map(self, func, jobs: Iterable, budgets: Sequence[float], progress: Progress | None, phase: str, weights: Sequence[int],
            keep: Callable | None = None):
        """``func`` over ``jobs`` in order; a job that raised, hung or crashed its worker gives a Failure.
        ``jobs`` is read as it goes, a few per worker in flight, and ``keep`` turns each job's result
        into what is kept of it as soon as it arrives: a future holds its job and its result until
        dropped, so scheduling a batch of 20,000 files at once held every one."""
        queued = iter(zip(jobs, budgets, strict=True))
        flight: deque = deque()
        total = sum(weights)
        results = []
        for budget, weight in zip(budgets, weights, strict=True):
            while len(flight) < self.window and (job := next(queued, None)) is not None:
                flight.append(self.pool.schedule(func, args=(job[0],), timeout=job[1]))
            future = flight.popleft()
            try:
                results.append(keep(future.result()) if keep else future.result())
            except BaseException as exc:  # noqa: BLE001 - anything a job did is that job's result
                if isinstance(exc, KeyboardInterrupt):
                    raise
                results.append(_lost(exc, budget))
            del future
            if progress:
                progress(phase, weight, total)
        return results

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        """Wait for the workers; on an exception (Ctrl-C, SIGTERM) stop them at once."""
        if kind is not None:
            self.pool.stop()
        else:
            self.pool.close()
        self.pool.join()


def worker_count(jobs: int | None) -> int:
    return max(1, jobs or os.cpu_count() or 1)


def chunk_size(files: int, workers: int) -> int:
    # A few chunks per worker: Pandera runs once per chunk and format, so chunks should not be tiny.
    return max(1, min(500, -(-files // (workers * 4))))


