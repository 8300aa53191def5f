"""Human-readable quota reports, in the original specification's layout::

groq Key 1:
  ├─ Used today: 11,234 tokens (78.0%)
  ├─ Remaining: 3,166 tokens (22.0%)
  └─ Status: ⚠️ Warning (>=75%)
"""

from __future__ import annotations

from collections.abc import Iterable

from .results import QuotaInfo

__all__ = ["format_quota"]

_BADGES = {
    "healthy": ("✅", "Healthy"),
    "warning": ("⚠️", "Warning"),
    "critical": ("🚨", "Critical"),
    "exhausted": ("⛔", "Exhausted"),
}


def format_quota(label: str, quota: QuotaInfo, thresholds: Iterable[float] = (75, 90, 100)) -> str:
    """Format one key's quota as the three-line tree of the original spec."""
    warning, critical, exhausted = thresholds
    limit = quota["limit"]
    remaining_pct = 0.0 if limit <= 0 else round(quota["remaining"] * 100 / limit, 1)
    badge, word = _BADGES[quota["status"]]
    bound = {"warning": warning, "critical": critical, "exhausted": exhausted}.get(quota["status"])
    suffix = f" (>={bound:g}%)" if bound is not None else ""
    scope = "" if quota["scope"] == "key" else f" [{quota['scope']}]"
    unit = quota["metric"]
    return (
        f"{label}{scope}:\n"
        f"  ├─ Used today: {quota['used']:,} {unit} ({quota['percentage']}%)\n"
        f"  ├─ Remaining: {quota['remaining']:,} {unit} ({remaining_pct}%)\n"
        f"  └─ Status: {badge} {word}{suffix}"
    )
