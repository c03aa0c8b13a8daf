"""Timing helpers: medians of repeated rounds, fresh subprocesses, tracemalloc."""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable


def per_call(fn: Callable[[], object], calls: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean seconds per call of ``fn``."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


async def aper_call(fn: Callable[[], Awaitable[object]], calls: int, rounds: int) -> float:
    """``per_call`` for a coroutine function, awaited in the running loop."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            await fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def process_seconds(code: str, rounds: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of ``python -c code`` in fresh interpreters (startup included)."""
    samples = []
    full_env = {**os.environ, **(env or {})}
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=full_env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def reported_seconds(code: str, rounds: int, env: dict[str, str]) -> float:
    """Median of the float a fresh ``python -c code`` prints as its last line."""
    samples = []
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        ).stdout
        samples.append(float(out.split()[-1]))
    return statistics.median(samples)


def retained_bytes(build: Callable[[], object]) -> float:
    """Bytes still allocated after ``build()`` returns, while its result is alive."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        size = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del kept
    return float(size)
