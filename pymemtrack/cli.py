"""The ``pymemtrack`` / ``python -m pymemtrack`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pymemtrack",
        description="Find memory leaks in Python processes.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    demo = sub.add_parser("demo", help="run a small leaking service and show pymemtrack catch it")
    demo.add_argument("--batches", type=int, default=3, help="batches of requests (default 3)")
    demo.add_argument("--per-batch", type=int, default=500, help="requests per batch (default 500)")
    from . import attach

    attach.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.batches < 1 or args.per_batch < 1:
            parser.error("--batches and --per-batch must be at least 1")
        from . import demo

        demo.run(batches=args.batches, per_batch=args.per_batch)
        return 0
    if args.command == "attach":
        from . import attach

        return attach.run_cli(args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects first
    return 2
