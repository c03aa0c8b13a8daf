"""msal_mi_async next to msal, azure-identity and a bare httpx request, in one run.

    pip install -e '.[bench]'
    python benchmarks/run.py            # full run, writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick    # a few seconds, prints only (CI smoke test)

Every client talks to the same emulator endpoint (msal_mi_async.emulator, IMDS flavour,
in its own process; reached through AZURE_POD_IDENTITY_AUTHORITY_HOST).  Times are medians
over repeated rounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import _figures as fig
from _clients import AZ_AIO, COLUMNS, HTTPX, OURS, OURS_ASYNC, PEERS, adapters
from _endpoint import EmulatorProcess

RESULTS = Path(__file__).with_name("RESULTS.md")
TOKEN_CHARS = 947  # what the emulator mints, about a real managed-identity token


class Settings:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.rounds = 1 if quick else 7
        self.hit_calls = 2_000 if quick else 20_000
        self.miss_calls = 3 if quick else 20
        self.miss_rounds = 1 if quick else 15
        self.tasks, self.threads = 1000, 64
        self.tokens = 1_000 if quick else 10_000
        self.msal_tokens = 100 if quick else 1_000
        self.process_rounds = 1 if quick else 5


US, MS = 1e6, 1e3


def measure(s: Settings) -> list[Row]:
    with EmulatorProcess() as emu:
        env = emu.env
        os.environ.update(env)  # msal and azure-identity read os.environ
        sync, aio = adapters(env)
        hits = fig.cache_hit(sync, aio, s.hit_calls, s.rounds)
        first = fig.first_token(sync, aio, s.rounds)
        forced = fig.forced_refresh(sync, aio, s.miss_calls, s.miss_rounds)
        herd = fig.herd(sync, aio, lambda: emu.request_count, s.tasks, s.threads)
        cold = fig.cold_process_first_token(env, s.process_rounds)
        cold_no_trio = fig.cold_process_first_token(env, s.process_rounds, hide_trio=True)
    return [
        Row("cache hit, per call", "µs", US, hits, "≤ 0.1× best peer", lambda r: r <= 0.1),
        Row("first token, new client (warm process)", "ms", MS, first),
        Row("forced refresh (a miss), warm client", "ms", MS, forced,
            "async ≤ 1.15× bare httpx", vs_httpx=1.15),
        Row(f"cold herd ({s.tasks} tasks / {s.threads} threads)", "requests", 1, herd,
            "= 1", exact=1),
        Row("import, whole fresh process", "ms", MS, fig.import_time(s.process_rounds),
            "≤ 0.5× azure.identity.aio", vs_column=(AZ_AIO, 0.5)),
        Row("fresh process: import → first token", "ms", MS, cold),
        Row("… the same where trio is not installed", "ms", MS, cold_no_trio),
        *_memory_rows(s),
        Row("statistics(), per call", "µs", US,
            fig.statistics_cost(env, s.hit_calls * 5, s.rounds)),
    ]  # fmt: skip


def _memory_rows(s: Settings) -> list[Row]:
    held = fig.memory(s.tokens, s.msal_tokens, TOKEN_CHARS)
    text = sys.getsizeof("x" * TOKEN_CHARS)  # one token's str object
    beyond = {name: value / s.tokens - text for name, value in held.items()}
    return [
        Row(f"memory, {s.tokens:,} cached tokens ({TOKEN_CHARS} chars)", "MB", 1e-6, held,
            "≤ 10 MB", absolute=10.0),
        Row(f"… per token beyond its own text ({text} B)", "B", 1, beyond),
    ]  # fmt: skip


class Row:
    """One figure: every client's value, ratio to the best peer, and the target check."""

    def __init__(
        self,
        figure: str,
        unit: str,
        scale: float,
        values: dict[str, float],
        target: str = "",
        ratio_ok: Callable[[float], bool] | None = None,
        *,
        vs_httpx: float | None = None,
        vs_column: tuple[str, float] | None = None,
        exact: float | None = None,
        absolute: float | None = None,
    ) -> None:
        self.figure, self.unit, self.scale, self.values = figure, unit, scale, values
        self.target, self.ratio_ok = target, ratio_ok
        self.vs_httpx, self.vs_column, self.exact, self.absolute = (
            vs_httpx,
            vs_column,
            exact,
            absolute,
        )

    def best_peer(self) -> float | None:
        peers = [self.values[p] for p in PEERS if p in self.values]
        return min(peers) if peers else None

    def ratio(self, ours: str) -> float | None:
        best = self.best_peer()
        if ours not in self.values or not best:
            return None
        return self.values[ours] / best

    def met(self) -> str:
        if not self.target:
            return ""
        checks = [self._met(name) for name in OURS if name in self.values]
        checks = [c for c in checks if c is not None]
        mark = "✅" if checks and all(checks) else "❌"
        reference = HTTPX if self.vs_httpx else self.vs_column[0] if self.vs_column else None
        if reference is None:
            return mark
        return f"{mark} {self.values[OURS_ASYNC] / self.values[reference]:.2f}×"

    def _met(self, ours: str) -> bool | None:
        value = self.values[ours]
        if self.exact is not None:
            return value == self.exact
        if self.absolute is not None:
            return value * self.scale <= self.absolute
        if self.vs_httpx is not None:
            return value <= self.vs_httpx * self.values[HTTPX] if ours == OURS_ASYNC else None
        if self.vs_column is not None:
            column, limit = self.vs_column
            return value <= limit * self.values[column] if ours == OURS_ASYNC else None
        ratio = self.ratio(ours)
        return None if ratio is None or self.ratio_ok is None else self.ratio_ok(ratio)

    def cells(self) -> list[str]:
        shown = [_fmt(self.values.get(c), self.scale) for c in COLUMNS]
        ratios = " / ".join(_ratio(self.ratio(o)) for o in OURS)
        return [self.figure, self.unit, *shown, ratios, self.target, self.met()]


def _fmt(value: float | None, scale: float) -> str:
    if value is None:
        return "—"
    scaled = value * scale
    return f"{scaled:.0f}" if scale == 1 else f"{scaled:.3g}" if scaled < 100 else f"{scaled:.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}×"


def render(rows: list[Row], s: Settings) -> str:
    head = ["figure", "unit", *COLUMNS, "ours ÷ best peer (async / sync)", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    notes = _NOTES.format(tokens=s.tokens, msal=s.msal_tokens, text_mb=s.tokens * 996 / 1e6)
    return "\n".join([_header(s), "", *lines, "", notes])


def _header(s: Settings) -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("msal_mi_async", "msal", "azure-identity", "azure-core", "httpx", "aiohttp")
    )
    mode = "quick (smoke test, 1 round)" if s.quick else f"{s.rounds} rounds, medians"
    return (
        f"# Benchmark results\n\n`python benchmarks/run.py` — {mode}; "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.\n\n"
        f"Machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores "
        f"(shared, noisy); Python {platform.python_version()}.\n{versions}."
    )


_NOTES = """Notes
- Ratio column: our value ÷ the best of msal / azure-identity (sync, aio) for that figure;
  below 1 is better.  "bare httpx request" is the floor for a request, not a peer.  The
  "met" column shows our async figure ÷ the target's reference where it has one.
- The emulator runs in its own process (like IMDS), so it shares no interpreter lock with
  the clients.  Cache-hit and refresh rounds take turns between clients, so a noisy
  machine's drift hits all alike.
- Forced refresh: ours `force_refresh=True`; msal and azure-identity take a claims
  challenge (`"{{}}"`), their only way to skip the cache for managed identity.  Through
  the sync facade a miss also crosses to the portal thread and back (~0.3 ms).
- Cold herd: requests counted at the emulator (1 = single flight).  Async clients get the
  task herd, sync clients the thread herd.
- Import: `python -c "<import>"` wall time in fresh processes, interpreter start-up
  included (ours async: `import msal_mi_async`; sync: `from msal_mi_async import
  SyncManagedIdentityClient`; azure-identity aio: `from azure.identity.aio import ...`).
- Fresh process: httpx and httpcore load with our first request (not at import); httpcore
  also imports trio whenever it is installed (the test extra installs it), hence the
  row with trio hidden.
- Memory: tracemalloc bytes held after caching {tokens:,} distinct tokens through the
  client (answers from an in-memory transport); msal was filled with {msal:,} tokens and
  scaled linearly, as its lookup scans every entry (quadratic fill).  The token text
  alone is {tokens:,} × 996 B ≈ {text_mb:.1f} MB, so 10 MB cannot hold 10 000 tokens of
  this size (real managed-identity tokens are longer still); the row below it is the
  part a cache controls."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds; does not write")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    settings = Settings(args.quick)
    report = render(measure(settings), settings)
    print(report)
    if not args.quick:
        args.output.write_text(report + "\n", encoding="utf-8")
        print(f"\nwritten to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
