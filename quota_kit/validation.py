"""Argument checks shared by every public call. Each raises InvalidInputError
before anything is written."""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import InvalidInputError

__all__ = ["MAX_AMOUNT", "check_amount", "check_id", "check_metric", "check_model", "id_text"]

MAX_AMOUNT = 2**53
"""Largest amount accepted in one call: integers above it lose precision in
JSON, JavaScript and Lua."""

METRICS = ("tokens", "requests")

_ID = re.compile(r"[A-Za-z0-9_.@+=~-]{1,128}")
# Model names may also hold "/" and ":" ("meta-llama/llama-4-scout", "ft:gpt-4o:org").
_MODEL = re.compile(r"[A-Za-z0-9_.@+=~/:-]{1,200}")


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_id(value: Any, what: str) -> str:
    """Validate a provider, key id or pool id; return its canonical text.

    Ints are accepted for key ids (``1`` and ``"1"`` name the same key).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInputError(f"{what} must be a str or an int, got {_describe(value)}")
    text = str(value)
    if not _ID.fullmatch(text):
        raise InvalidInputError(
            f"invalid {what} {text!r}: use 1 to 128 characters from letters, digits and "
            "'_.@+=~-' (no spaces, separators such as ':', '/', '|', braces, or control characters)"
        )
    return text


def id_text(value: Any) -> str:
    """Canonical text of an already validated id."""
    return str(value)


def check_model(value: Any) -> str:
    if not isinstance(value, str) or not _MODEL.fullmatch(value):
        raise InvalidInputError(
            f"invalid model name {value!r}: use 1 to 200 characters from letters, digits "
            "and '_.@+=~/:-'"
        )
    return value


def check_amount(value: Any, what: str, *, allow_negative: bool = False) -> int:
    """Validate a token or request count: a real int (not bool, not float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isnan(value):
            raise InvalidInputError(f"{what} must be an integer, got NaN")
        raise InvalidInputError(f"{what} must be an integer, got {_describe(value)}")
    if not allow_negative and value < 0:
        raise InvalidInputError(f"{what} must not be negative, got {value}")
    if abs(value) > MAX_AMOUNT:
        raise InvalidInputError(f"{what} must be at most 2**53 ({MAX_AMOUNT}), got {value}")
    return value


def check_metric(value: Any) -> str:
    if value not in METRICS:
        raise InvalidInputError(f"invalid metric {value!r}: use 'tokens' or 'requests'")
    return str(value)
