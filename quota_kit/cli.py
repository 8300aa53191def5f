"""The ``quota-kit`` command line (also ``python -m quota_kit``)."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

__all__ = ["main"]

DEFAULT_DEMO_DIR = ".quota-kit-demo"


def _print(text: str) -> None:
    encoding = sys.stdout.encoding or "utf-8"
    sys.stdout.write(text.encode(encoding, errors="replace").decode(encoding) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="quota-kit", description="Per-key quota tracking for metered APIs."
    )
    parser.add_argument("--version", action="version", version=f"quota-kit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="simulate requests over several keys and print a per-key report"
    )
    demo.add_argument(
        "--backend",
        help=(
            f"backend URL (default: diskcache in ./{DEFAULT_DEMO_DIR}, emptied before each "
            "run). The demo writes usage for groq keys 1-3 and gemini key 1: "
            "point it at a scratch store, never a production one"
        ),
    )
    demo.add_argument("--requests", type=int, default=300, help="requests to simulate")
    demo.add_argument("--seed", type=int, default=7, help="random seed")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from .demo import run_demo
        from .errors import QuotaKitError

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        backend = args.backend
        if backend is None:
            folder = Path(DEFAULT_DEMO_DIR).resolve()
            shutil.rmtree(folder, ignore_errors=True)  # our own scratch folder
            backend = f"diskcache://{folder}"
        try:
            _print(run_demo(backend, requests=args.requests, seed=args.seed))
        except QuotaKitError as exc:
            print(f"quota-kit: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
