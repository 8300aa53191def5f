"""The original specification's unit tests (its Task 3.1), verbatim, on every backend.

Each test receives ``QuotaTracker`` as a fixture: a factory that builds a tracker
on a fresh store of the backend under test, so the bodies below are the seed's
own text.
"""

from collections.abc import Callable

import pytest

from quota_kit import QuotaTracker as _QuotaTracker
from tests.conftest import BackendFactory


@pytest.fixture
def QuotaTracker(backend_factory: BackendFactory, clock) -> Callable[[], _QuotaTracker]:
    return lambda: _QuotaTracker(backend_factory.new(), clock=clock)


def test_log_usage(QuotaTracker):
    """Test usage logging"""
    tracker = QuotaTracker()

    # Log usage
    result = tracker.log_usage("groq", 1, tokens_used=100)

    assert result["tokens_used"] == 100
    assert result["requests_count"] == 1


def test_get_remaining_quota(QuotaTracker):
    """Test quota calculation"""
    tracker = QuotaTracker()

    # Use 10,000 tokens
    tracker.log_usage("groq", 1, tokens_used=10000)

    # Check remaining (limit: 14,400)
    quota = tracker.get_remaining_quota("groq", 1, 14400)

    assert quota["used"] == 10000
    assert quota["limit"] == 14400
    assert quota["remaining"] == 4400
    assert quota["percentage"] == pytest.approx(69.4, rel=0.1)
    assert quota["status"] == "healthy"


def test_quota_warning_thresholds(QuotaTracker):
    """Test warning status at 75% and 90%"""
    tracker = QuotaTracker()

    # 75% usage
    tracker.log_usage("groq", 1, tokens_used=10800)  # 75% of 14400
    quota = tracker.get_remaining_quota("groq", 1, 14400)
    assert quota["status"] == "warning"

    # 90% usage
    tracker.log_usage("groq", 2, tokens_used=12960)  # 90% of 14400
    quota = tracker.get_remaining_quota("groq", 2, 14400)
    assert quota["status"] == "critical"

    # 100% usage
    tracker.log_usage("groq", 3, tokens_used=14400)
    quota = tracker.get_remaining_quota("groq", 3, 14400)
    assert quota["status"] == "exhausted"


def test_is_quota_available(QuotaTracker):
    """Test quota availability check"""
    tracker = QuotaTracker()

    # Use 14,300 tokens (100 remaining)
    tracker.log_usage("groq", 1, tokens_used=14300)

    # Check if 50 tokens available (should be True)
    assert tracker.is_quota_available("groq", 1, 14400, required=50)

    # Check if 200 tokens available (should be False)
    assert not tracker.is_quota_available("groq", 1, 14400, required=200)
