"""Retry decisions: a pure policy that says "wait N seconds" or "give up".

The policy never sleeps and never sends anything; the flow driver in ``_fetch.py``
carries its decisions out, per HTTP attempt, with an injectable sleep.  Defaults follow
protocol.md §7 per source: :meth:`RetryPolicy.imds` and :meth:`RetryPolicy.default`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
from collections.abc import Iterable

import attrs

from ._errors import ErrorCode, ManagedIdentityNetworkError
from ._http import HttpResponse
from ._kinds import ManagedIdentitySourceKind

__all__ = ["RetryPolicy", "parse_retry_after"]

_IMDS_STATUSES = frozenset({404, 408, 410, 429, *range(500, 600)})
_DEFAULT_STATUSES = frozenset({404, 408, 429, 500, 502, 503, 504})
#: Never retried, whatever a policy lists: the request itself is wrong (protocol.md §7).
NEVER_RETRIED = frozenset({400, 401, 403})
GONE = 410


def _int_set(values: Iterable[int]) -> frozenset[int]:
    return frozenset(values)


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """When to retry a failed HTTP attempt, and how long to wait first.

    ``attempts`` counts every attempt (the first one included).  The n-th retry waits
    ``wait_initial * wait_exp_base ** (n - 1)`` capped at ``wait_max``, or the server's
    ``Retry-After`` (capped at ``retry_after_max``) when that is longer, plus up to
    ``wait_jitter`` random seconds.  When the *first* failure is HTTP 410 and
    ``gone_attempts`` is set, up to ``gone_attempts`` attempts are made ``gone_wait``
    apart (IMDS maintenance, at least 70 s).  ``timeout`` (seconds since the first
    attempt) stops retrying early; the acquisition's own deadline always wins.
    ``testing=True`` keeps every decision but waits 0 s.  400, 401 and 403 are never
    retried.
    """

    attempts: int = attrs.field(default=4, validator=_at_least_one)
    timeout: float | None = None
    wait_initial: float = attrs.field(default=1.0, validator=_non_negative)
    wait_max: float = attrs.field(default=4.0, validator=_non_negative)
    wait_exp_base: float = attrs.field(default=2.0, validator=_non_negative)
    wait_jitter: float = attrs.field(default=0.5, validator=_non_negative)
    retry_after_max: float = attrs.field(default=60.0, validator=_non_negative)
    statuses: frozenset[int] = attrs.field(default=_IMDS_STATUSES, converter=_int_set)
    network_errors: bool = True
    gone_attempts: int | None = 8
    gone_wait: float = attrs.field(default=10.0, validator=_non_negative)
    testing: bool = False

    @classmethod
    def imds(cls) -> RetryPolicy:
        """IMDS: 404, 408, 410, 429, 5xx and network errors; 3 retries 1, 2, 4 s apart;
        a first 410 gets 7 retries 10 s apart."""
        return cls()

    @classmethod
    def default(cls) -> RetryPolicy:
        """Other sources: 404, 408, 429, 500, 502, 503, 504 and network errors;
        3 retries, each waiting max(1 s, Retry-After)."""
        return cls(wait_exp_base=1.0, wait_max=1.0, statuses=_DEFAULT_STATUSES, gone_attempts=None)

    @classmethod
    def none(cls) -> RetryPolicy:
        """Never retry."""
        return cls(attempts=1, gone_attempts=None)

    @classmethod
    def for_source(cls, kind: ManagedIdentitySourceKind) -> RetryPolicy:
        """The protocol's default for ``kind``."""
        return cls.imds() if kind is ManagedIdentitySourceKind.IMDS else cls.default()

    def without_waiting(self) -> RetryPolicy:
        """The same decisions, but every wait is 0 s (for tests)."""
        return attrs.evolve(self, testing=True)

    def retries(self, failure: HttpResponse | ManagedIdentityNetworkError) -> bool:
        """Whether this kind of failure is worth another attempt at all."""
        if isinstance(failure, ManagedIdentityNetworkError):
            return self.network_errors and failure.error_code in _NETWORK_CODES
        status = failure.status_code
        return status in self.statuses and status not in NEVER_RETRIED

    def next_wait(
        self,
        failure: HttpResponse | ManagedIdentityNetworkError,
        *,
        attempts_made: int,
        first_status: int | None,
        elapsed: float = 0.0,
        now: float = 0.0,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        ``first_status`` is the HTTP status of the first failed attempt (None for a
        network error); ``now`` (epoch seconds) reads an HTTP-date ``Retry-After``.
        """
        if not self.retries(failure):
            return None
        gone = self.gone_attempts is not None and first_status == GONE
        limit = self.gone_attempts if gone and self.gone_attempts is not None else self.attempts
        if attempts_made >= limit:
            return None
        wait = self.gone_wait if gone else self._backoff(attempts_made)
        wait = max(wait, self._retry_after(failure, now))
        wait += (rng or random).uniform(0.0, self.wait_jitter) if self.wait_jitter else 0.0
        if self.timeout is not None and elapsed + wait > self.timeout:
            return None
        return 0.0 if self.testing else wait

    def _backoff(self, attempts_made: int) -> float:
        try:
            grown = self.wait_initial * self.wait_exp_base ** (attempts_made - 1)
        except OverflowError:
            grown = math.inf
        return min(grown, self.wait_max)

    def _retry_after(
        self, failure: HttpResponse | ManagedIdentityNetworkError, now: float
    ) -> float:
        if isinstance(failure, ManagedIdentityNetworkError):
            return 0.0
        seconds = parse_retry_after(failure.header("retry-after"), now)
        return 0.0 if seconds is None else min(seconds, self.retry_after_max)


_NETWORK_CODES = frozenset({ErrorCode.UNREACHABLE_NETWORK, ErrorCode.REQUEST_TIMEOUT})


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP-date; None if unusable."""
    if value is None:
        return None
    text = value.strip()
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until_date(text, now)
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until_date(text: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # HTTP dates are always GMT
        when = when.replace(tzinfo=dt.timezone.utc)
    try:
        return when.timestamp() - now
    except (OverflowError, OSError, ValueError):
        return None
