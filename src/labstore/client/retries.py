"""When to send a request again, and how long to wait first.

The Session's options ``retry`` (``{status: retries}``), ``backoff`` (``{status: (base_s,
cap_s)}``), ``request_timeout`` (seconds for one attempt) and ``retry_timeout`` (seconds for all
attempts of one request together) become a :class:`RetryPolicy`. The status ``0`` stands for
"no answer": the connection was refused or reset, the answer was cut short, or the attempt
timed out. The given dictionaries change the defaults status by status (``{503: 0}`` turns
retries on 503 off).

The wait before retry ``n`` (1, 2, ...) is ``Retry-After`` when the server sent one (seconds
or an HTTP date); otherwise exponential with "equal jitter": a uniform draw between half and
all of ``min(cap, base * 2 ** (n - 1))``, so clients that failed together do not come back
together, and none comes back at once.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from labstore.errors import ConfigError

NO_ANSWER = 0
DEFAULT_RETRIES: dict[int, int] = {NO_ANSWER: 3, 429: 5, 500: 3, 502: 5, 503: 5, 504: 5}
DEFAULT_BACKOFF: tuple[float, float] = (0.5, 30.0)
# A refused or reset connection is usually a restart or a blip: come back sooner.
DEFAULT_BACKOFFS: dict[int, tuple[float, float]] = {NO_ANSWER: (0.1, 5.0)}


@dataclass(frozen=True)
class RetryPolicy:
    """Retries and timeouts of one Session's requests."""

    retries: Mapping[int, int] = field(default_factory=lambda: dict(DEFAULT_RETRIES))
    backoffs: Mapping[int, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_BACKOFFS)
    )
    request_timeout: float = 30.0
    retry_timeout: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetryPolicy:
        """The policy the Session options describe, checked.

        Raises:
            ConfigError: An option has the wrong shape (the message names it).
        """
        retries = dict(DEFAULT_RETRIES)
        retries.update(_status_map("retry", options.get("retry"), _retry_count))
        backoffs = dict(DEFAULT_BACKOFFS)
        backoffs.update(_status_map("backoff", options.get("backoff"), _base_and_cap))
        return cls(
            retries=retries,
            backoffs=backoffs,
            request_timeout=_seconds("request_timeout", options.get("request_timeout", 30.0)),
            retry_timeout=_seconds("retry_timeout", options.get("retry_timeout", 300.0)),
        )

    def with_request_timeout(self, seconds: float) -> RetryPolicy:
        return replace(self, request_timeout=_seconds("request_timeout", seconds))

    def retries_for(self, status: int) -> int:
        """How many times a request that got ``status`` (0: no answer) is sent again."""
        return self.retries.get(status, 0)

    def backoff(self, status: int, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (from 1) after ``status``."""
        base, cap = self.backoffs.get(status, DEFAULT_BACKOFF)
        ceiling = min(cap, base * 2 ** min(retry - 1, 62))
        return self.rng.uniform(ceiling / 2, ceiling)


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay-seconds or an HTTP date).

    Returns None for a missing or unreadable header; a date in the past is 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _status_map(name: str, value: Any, check: Any) -> dict[int, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"option {name}: expected a mapping of HTTP status to a setting")
    out = {}
    for status, setting in value.items():
        if isinstance(status, bool) or not isinstance(status, int):
            raise ConfigError(f"option {name}: keys are HTTP status codes (0: no answer)")
        if status != NO_ANSWER and not 400 <= status <= 599:
            raise ConfigError(f"option {name}: {status} is not an error status (400-599 or 0)")
        out[status] = check(name, status, setting)
    return out


def _retry_count(name: str, status: int, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"option {name}[{status}]: expected a count of retries (0 or more)")
    return value


def _base_and_cap(name: str, status: int, value: Any) -> tuple[float, float]:
    try:
        base, cap = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"option {name}[{status}]: expected (base_seconds, cap_seconds)"
        ) from None
    if not (0 <= base <= cap and math.isfinite(cap)):
        raise ConfigError(f"option {name}[{status}]: need 0 <= base <= cap, got {value!r}")
    return base, cap


def _seconds(name: str, value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option {name}: expected seconds, got {value!r}") from None
    if not seconds > 0 or not math.isfinite(seconds):
        raise ConfigError(f"option {name}: expected a positive number of seconds")
    return seconds
