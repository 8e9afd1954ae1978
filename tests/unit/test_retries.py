"""Retries: the backoff schedule, Retry-After, retry_timeout, idempotency keys and logging.

The HTTP side runs against the real fault proxy answering 503 or 429 itself; waits go through
a fake clock, so the schedule is checked exactly and nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
from collections.abc import Iterator

import pytest

from labstore.client.retries import DEFAULT_RETRIES, NO_ANSWER, RetryPolicy, retry_after
from labstore.client.transport import Transport, masked_headers
from labstore.errors import ConfigError, InvalidInput, OfflineError
from tests.support.faultproxy import FaultProxy
from tests.support.live import free_port


class FakeClock:
    """A monotonic clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def transport_to(url: str, clock: FakeClock, **options: object) -> Transport:
    transport = Transport(url, policy=RetryPolicy.from_options(options))
    transport.clock, transport.sleep = clock, clock.sleep
    transport.token = "s3cret-token"
    return transport


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def always_503() -> Iterator[FaultProxy]:
    # Nothing listens behind it: every answer is the proxy's own 503.
    with FaultProxy(port=free_port(), rate=1.0, faults=("status_503",), retry_after_seconds=3) as p:
        yield p


# --- the schedule -----------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_all() -> None:
    policy = RetryPolicy(backoffs={503: (1.0, 4.0)}, rng=random.Random(1))
    ceilings = {1: 1.0, 2: 2.0, 3: 4.0, 4: 4.0, 30: 4.0, 500: 4.0}
    for retry, ceiling in ceilings.items():
        draws = [policy.backoff(503, retry) for _ in range(300)]
        assert all(ceiling / 2 <= d <= ceiling for d in draws), retry
        assert len(set(draws)) > 250  # jittered, not one value
        assert min(draws) < ceiling * 0.55 and max(draws) > ceiling * 0.95  # the whole range


def test_statuses_without_their_own_backoff_use_the_default() -> None:
    policy = RetryPolicy.from_options({"backoff": {429: (0.01, 0.02)}})
    assert 0.005 <= policy.backoff(429, 10) <= 0.02
    assert 0.25 <= policy.backoff(500, 1) <= 0.5  # default base 0.5 s
    assert 15 <= policy.backoff(500, 20) <= 30  # default cap 30 s
    assert 0.05 <= policy.backoff(NO_ANSWER, 1) <= 0.1  # no answer: a quicker start


def test_given_retries_change_the_defaults_status_by_status() -> None:
    policy = RetryPolicy.from_options({"retry": {503: 0, 404: 2}})
    assert policy.retries_for(503) == 0 and policy.retries_for(404) == 2
    assert policy.retries_for(429) == DEFAULT_RETRIES[429]
    assert policy.retries_for(NO_ANSWER) == DEFAULT_RETRIES[NO_ANSWER]
    assert policy.retries_for(400) == 0


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"retry": [503]}, "retry"),
        ({"retry": {"503": 1}}, "retry"),
        ({"retry": {200: 1}}, "200"),
        ({"retry": {503: -1}}, "retry[503]"),
        ({"retry": {503: True}}, "retry[503]"),
        ({"backoff": {503: 2}}, "backoff[503]"),
        ({"backoff": {503: (5, 1)}}, "base <= cap"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"retry_timeout": "soon"}, "retry_timeout"),
    ],
)
def test_bad_options_name_the_problem(options: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        RetryPolicy.from_options(options)


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=90), usegmt=True)
    earlier = email.utils.format_datetime(now - dt.timedelta(seconds=90), usegmt=True)
    assert retry_after("7", now) == 7.0
    assert retry_after(" 0 ", now) == 0.0
    assert retry_after(later, now) == 90.0
    assert retry_after(earlier, now) == 0.0  # a date gone by: no wait
    for unreadable in (None, "", "soon", "-3", "1.5e9x"):
        assert retry_after(unreadable, now) is None


# --- the transport against a real proxy ---------------------------------------------------------


def test_retry_after_is_honoured_and_the_budget_counts_retries(
    always_503: FaultProxy, clock: FakeClock
) -> None:
    transport = transport_to(always_503.url, clock, retry={503: 2})
    with pytest.raises(OfflineError) as caught:
        transport.request("GET", "/api/ping")
    assert always_503.requests == 3  # the first attempt and two retries
    assert clock.sleeps == [3.0, 3.0]  # Retry-After: 3, exactly
    assert caught.value.details["attempts"] == 3
    assert "after 3 attempts" in caught.value.message


@pytest.mark.parametrize(
    ("retry_timeout", "sleeps"),
    [
        # Attempts at 0, 3, 6 and 9 s; another wait of 3 s would end past 10 s: it stops.
        (10, [3.0, 3.0, 3.0]),
        # A Retry-After longer than what is left: it stops at once.
        (2, []),
    ],
)
def test_retry_timeout_bounds_all_attempts_together(
    always_503: FaultProxy, clock: FakeClock, retry_timeout: float, sleeps: list[float]
) -> None:
    transport = transport_to(always_503.url, clock, retry={503: 1000}, retry_timeout=retry_timeout)
    with pytest.raises(OfflineError):
        transport.request("GET", "/api/ping")
    assert clock.sleeps == sleeps
    assert always_503.requests == len(sleeps) + 1


def test_429_with_an_http_date_is_waited_for(clock: FakeClock) -> None:
    with FaultProxy(
        port=free_port(), rate=1.0, faults=("status_429",), retry_after_seconds=3
    ) as proxy:
        transport = transport_to(proxy.url, clock, retry={429: 1})
        with pytest.raises(InvalidInput):
            transport.request("GET", "/api/ping")
    [wait] = clock.sleeps
    assert 1.0 <= wait <= 3.0  # HTTP dates have whole seconds


def test_no_answer_is_retried_with_its_own_backoff(clock: FakeClock) -> None:
    transport = transport_to(f"http://127.0.0.1:{free_port()}", clock, retry={0: 3})
    with pytest.raises(OfflineError, match="cannot reach"):
        transport.request("GET", "/api/ping")
    assert len(clock.sleeps) == 3
    for retry, wait in enumerate(clock.sleeps, start=1):
        ceiling = min(5.0, 0.1 * 2 ** (retry - 1))
        assert ceiling / 2 <= wait <= ceiling


def test_writes_carry_one_key_for_all_their_attempts_and_reads_none(
    always_503: FaultProxy, clock: FakeClock
) -> None:
    transport = transport_to(always_503.url, clock, retry={503: 2})
    for method in ("POST", "DELETE", "GET"):
        with pytest.raises(OfflineError):
            transport.request(
                method, "/api/experiment/subject", json={} if method == "POST" else None
            )
    keys = always_503.header_values("Idempotency-Key")
    post, delete, get = keys[0:3], keys[3:6], keys[6:9]
    assert post[0] and post == [post[0]] * 3
    assert delete[0] and delete == [delete[0]] * 3 and delete[0] != post[0]
    assert get == [None] * 3


def test_a_key_given_by_the_caller_is_kept(always_503: FaultProxy, clock: FakeClock) -> None:
    transport = transport_to(always_503.url, clock, retry={503: 0})
    with pytest.raises(OfflineError):
        transport.request("POST", "/api/batch", json={}, headers={"Idempotency-Key": "mine"})
    assert always_503.header_values("Idempotency-Key") == ["mine"]


def test_failed_requests_are_logged_with_headers_and_the_token_masked(
    always_503: FaultProxy, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = transport_to(always_503.url, clock, retry={503: 1})
    with (
        caplog.at_level(logging.DEBUG, logger="labstore.client.transport"),
        pytest.raises(OfflineError),
    ):
        transport.request("POST", "/api/experiment/subject", json={})
    failures = [r for r in caplog.records if "failed (attempt" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.DEBUG, logging.DEBUG]
    text = failures[0].getMessage()
    assert "HTTP 503" in text and "Bearer ***" in text and "retry-after" in text.lower()
    assert "idempotency-key" in text.lower()
    assert "s3cret-token" not in caplog.text
    caplog.clear()
    transport.verbose = True
    with (
        caplog.at_level(logging.INFO, logger="labstore.client.transport"),
        pytest.raises(OfflineError),
    ):
        transport.request("GET", "/api/ping")
    assert [r.levelno for r in caplog.records if "failed (attempt" in r.getMessage()] == [
        logging.INFO,
        logging.INFO,
    ]
    assert "s3cret-token" not in caplog.text


def test_masked_headers_keep_the_scheme_only() -> None:
    shown = masked_headers({"Authorization": "Bearer abc", "Cookie": "a=b", "Accept": "*/*"})
    assert shown == {"Authorization": "Bearer ***", "Cookie": "***", "Accept": "*/*"}


def test_a_body_given_as_a_function_is_sent_afresh_and_one_shot_pieces_never_again(
    always_503: FaultProxy, clock: FakeClock
) -> None:
    transport = transport_to(always_503.url, clock, retry={503: 2})
    with pytest.raises(OfflineError):
        transport.request("PUT", "/api/blobs/x", content=lambda: iter([b"abc", b"def"]))
    assert always_503.requests == 3
    assert always_503.bodies == [b"abcdef"] * 3
    with pytest.raises(OfflineError):
        transport.request("PUT", "/api/blobs/y", content=iter([b"abc"]))
    assert always_503.requests == 4  # consumed pieces cannot be sent again
