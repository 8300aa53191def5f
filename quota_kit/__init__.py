"""quota_kit: precise per-key quota tracking and key selection for metered APIs.

>>> from quota_kit import QuotaTracker
>>> tracker = QuotaTracker("memory://", keys=[
...     {"provider": "groq", "key_id": 1, "tokens_per_day": 14400},
... ])
>>> tracker.try_consume("groq", 1, tokens=500)["admitted"]
True
"""

from __future__ import annotations

import logging

from .backends import (
    Bucket,
    Op,
    StorageBackend,
    backend_from_url,
    register_backend,
)
from .clock import FakeClock, system_clock
from .errors import (
    BackendUnavailableError,
    ConfigurationError,
    InvalidInputError,
    MissingDependencyError,
    QuotaExhaustedError,
    QuotaKitError,
)
from .failures import Failure, ProviderError, classify_error
from .health import HealthPolicy, Outcome
from .models import ApiKey, Limits, Pool, Thresholds
from .results import ConsumeResult, QuotaInfo, ThresholdEvent, TodayUsage, UsageRecord
from .router import KeyLease, KeyRouter
from .scoring import (
    Candidate,
    LowestLatency,
    MostRemaining,
    PriorityOrder,
    Randomized,
    RoundRobin,
    ScoringStrategy,
    WeightedScore,
)
from .status import Status
from .tracker import QuotaTracker, get_quota_tracker, set_quota_tracker
from .windows import DailyReset, Window

__version__ = "0.1.0"

# Library convention: emit records, let the application decide where they go.
# Threshold warnings reach any handler the application configures (or use
# listeners=[...] to act on them directly).
logging.getLogger("quota_kit").addHandler(logging.NullHandler())

__all__ = [
    "ApiKey",
    "Candidate",
    "Failure",
    "HealthPolicy",
    "KeyLease",
    "KeyRouter",
    "LowestLatency",
    "MostRemaining",
    "Outcome",
    "PriorityOrder",
    "ProviderError",
    "Randomized",
    "RoundRobin",
    "ScoringStrategy",
    "WeightedScore",
    "classify_error",
    "BackendUnavailableError",
    "Bucket",
    "ConfigurationError",
    "ConsumeResult",
    "DailyReset",
    "FakeClock",
    "InvalidInputError",
    "Limits",
    "MissingDependencyError",
    "Op",
    "Pool",
    "QuotaExhaustedError",
    "QuotaInfo",
    "QuotaKitError",
    "QuotaTracker",
    "Status",
    "StorageBackend",
    "ThresholdEvent",
    "Thresholds",
    "TodayUsage",
    "UsageRecord",
    "Window",
    "backend_from_url",
    "get_quota_tracker",
    "register_backend",
    "set_quota_tracker",
    "system_clock",
]
