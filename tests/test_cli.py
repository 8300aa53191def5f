"""The demo command a new user runs first."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from quota_kit.cli import main
from quota_kit.demo import DEMO_KEYS


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_demo_reports_every_key_consistently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(capsys, "demo", "--backend", f"diskcache://{tmp_path}")
    summary = re.search(r"(\d+) served, (\d+) refused for lack of quota, (\d+) failed", out)
    assert summary is not None
    served, refused, failed = map(int, summary.groups())
    assert served + refused + failed == 300 and served > 0
    blocks = re.findall(
        r"(\w+) Key (\d+):\n  ├─ Used today: ([\d,]+) tokens \(([\d.]+)%\)\n"
        r"  ├─ Remaining: ([\d,]+) tokens \([\d.]+%\)\n  └─ Status: \S+ (\w+)",
        out,
    )
    assert [(p, int(k)) for p, k, *_ in blocks] == [(k["provider"], k["key_id"]) for k in DEMO_KEYS]
    total = 0
    for (_, _, used, pct, remaining, status), key in zip(blocks, DEMO_KEYS):
        used_i, remaining_i = int(used.replace(",", "")), int(remaining.replace(",", ""))
        assert used_i + remaining_i == key["tokens_per_day"]
        expected = "Critical" if float(pct) >= 90 else "Warning" if float(pct) >= 75 else "Healthy"
        assert status == expected or (status == "Exhausted" and remaining_i == 0)
        total += used_i
    assert total > 0


def test_default_demo_starts_from_zero_each_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = _run(capsys, "demo")
    assert (tmp_path / ".quota-kit-demo").is_dir()
    second = _run(capsys, "demo")
    assert first.replace(str(tmp_path), "") == second.replace(str(tmp_path), "")


def test_demo_on_a_given_store_accumulates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"diskcache://{tmp_path}"
    first = _run(capsys, "demo", "--backend", url, "--requests", "10")
    second = _run(capsys, "demo", "--backend", url, "--requests", "10")
    assert first != second  # nothing of the user's store is wiped


def test_bad_backend_url_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--backend", "nosuch://x"]) == 2
    assert "unknown backend scheme 'nosuch'" in capsys.readouterr().err


def test_python_dash_m(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "quota_kit", "demo", "--requests", "20", "--backend", "memory://"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Routed 20 simulated requests" in proc.stdout
    assert "Smart choice" in proc.stdout
