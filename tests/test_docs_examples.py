"""Every Python example in docs/ and README.md runs as written.

The Python blocks of one page run in order, in one fresh interpreter, in a
scratch folder. A block preceded by ``<!-- skip -->`` needs a real server or
client and is left out; README examples that need Redis are run with the
backend URL swapped for ``memory://``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"(<!-- skip -->\s*\n)?```python\n(.*?)```", re.S)
PAGES = sorted((ROOT / "docs").glob("*.md"))


def _script(text: str) -> str:
    return "\n\n".join(code for skip, code in FENCE.findall(text) if not skip)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_page_examples_run(page: Path, tmp_path: Path) -> None:
    script = _script(page.read_text())
    assert script.strip(), f"{page.name} has no runnable example"
    (tmp_path / "page.py").write_text(script)
    proc = subprocess.run(
        [sys.executable, "page.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_readme_quickstart_runs(tmp_path: Path) -> None:
    blocks = FENCE.findall((ROOT / "README.md").read_text())
    quickstart = blocks[0][1].replace('"redis://localhost:6379/0",', '"memory://",')
    assert "try_consume" in quickstart
    (tmp_path / "quick.py").write_text(quickstart)
    proc = subprocess.run(
        [sys.executable, "quick.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
