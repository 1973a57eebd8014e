"""The ``pymemtrack`` / ``python -m pymemtrack`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Set, Tuple


def _build_parser() -> argparse.ArgumentParser:
    return _build_parsers()[0]


def _build_parsers() -> Tuple[argparse.ArgumentParser, Set[str]]:
    """The parser, and the ``run`` options that take a value (to find run's target)."""
    parser = argparse.ArgumentParser(
        prog="python -m pymemtrack",
        description="Find memory leaks in Python processes.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    demo = sub.add_parser("demo", help="run a small leaking service and show pymemtrack catch it")
    demo.add_argument("--batches", type=int, default=3, help="batches of requests (default 3)")
    demo.add_argument("--per-batch", type=int, default=500, help="requests per batch (default 500)")
    demo.add_argument("--cycles", action="store_true",
                      help="the service runs with gc.disable() and leaks through reference "
                           "cycles; show garbage_cycles() (batches x per-batch requests)")
    run_value_options = _add_run_parser(sub)
    _add_plot_parser(sub)
    from . import attach

    attach.add_parser(sub)
    return parser, run_value_options


def _add_run_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> Set[str]:
    run = sub.add_parser(
        "run", help="run a program under the memory monitor, then report growth and a verdict",
        usage="python -m pymemtrack run [options] (script.py | -m module) [args ...]",
        description="Run a Python program in this interpreter with pymemtrack's monitor: a "
                    "line per sample on stderr, then the growth since start and the verdict "
                    "(python-objects, native, allocator or stable). Options go before the "
                    "program; everything after it is passed to the program.")
    valued = [run.add_argument("--interval", type=float, default=10.0, metavar="SECONDS",
                                  help="seconds between samples (default 10)"),
              run.add_argument("--top", type=int, default=10, metavar="N",
                               help="types per sample (default 10)"),
              run.add_argument("--csv", metavar="FILE",
                               help="append one row per sample and type to FILE"),
              run.add_argument("--jsonl", metavar="FILE",
                               help="append one JSON object per sample to FILE"),
              run.add_argument("--signal", metavar="SIG",
                               help="take a sample when the process receives SIG (e.g. SIGUSR1)")]
    run.add_argument("--truncate", action="store_true",
                     help="start the CSV/JSON-lines files afresh instead of appending")
    run.add_argument("--deep", action="store_true",
                     help="deep walk: add the sizes of objects the GC does not track")
    run.add_argument("--collect", action="store_true",
                     help="run gc.collect() before each sample (costly on large heaps)")
    run.add_argument("--quiet", action="store_true", help="no per-sample lines, only the report")
    run.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    run.add_argument("script", nargs="?", help="the script to run")
    return {opt for action in valued for opt in action.option_strings}


def _add_plot_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    plot = sub.add_parser(
        "plot", help="plot a monitor CSV: counts of the top types over time, RSS on a second axis",
        description="Draw the object counts of the top types in a CSV written by the monitor "
                    "(run --csv, or start_monitor(csv=...)), with RSS on a second axis. "
                    "Needs matplotlib: pip install 'pymemtrack[plot]'.")
    plot.add_argument("csv", metavar="FILE.csv", help="the monitor's CSV file")
    plot.add_argument("-o", "--output", required=True, metavar="OUT",
                      help="the image to write: .png, .svg or .pdf")
    plot.add_argument("--top", type=int, default=5, metavar="N", help="types to draw (default 5)")
    plot.add_argument("--by", choices=("growth", "count"), default="growth",
                      help="pick the types that grew most (default) or have the most objects")
    plot.add_argument("--title", help="the figure's title")


def _split_run_argv(argv: List[str], value_options: Set[str]) -> Tuple[List[str], List[str]]:
    """Cut ``run``'s command line after its target (the script, or -m MODULE).

    Everything after the target belongs to the program, even words that look
    like pymemtrack's own options, as with ``python script.py args``.
    """
    if not argv or argv[0] != "run":
        return argv, []
    i = 1
    while i < len(argv):
        word = argv[i]
        if word == "-m":
            return argv[:i + 2], argv[i + 2:]
        if word == "--":
            return argv[:i + 2], argv[i + 2:]
        if not word.startswith("-") or word == "-":
            return argv[:i + 1], argv[i + 1:]
        i += 2 if word in value_options else 1
    return argv, []


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser, run_value_options = _build_parsers()
    argv = sys.argv[1:] if argv is None else list(argv)
    own, program_args = _split_run_argv(argv, run_value_options)
    args = parser.parse_args(own)
    if args.command == "demo":
        if args.batches < 1 or args.per_batch < 1:
            parser.error("--batches and --per-batch must be at least 1")
        from . import demo

        if args.cycles:
            demo.run_cycles(requests=args.batches * args.per_batch)
        else:
            demo.run(batches=args.batches, per_batch=args.per_batch)
        return 0
    if args.command == "run":
        return _run(parser, args, program_args)
    if args.command == "plot":
        return _plot(args)
    if args.command == "attach":
        from . import attach

        return attach.run_cli(args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects first
    return 2


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, program_args: List[str]) -> int:
    from .runner import run_program

    if (args.module is None) == (args.script is None):
        parser.error("run needs a script or -m MODULE (one of them)")
    target = args.module if args.module is not None else args.script
    try:
        return run_program(target, program_args, module=args.module is not None, quiet=args.quiet,
                           interval=args.interval, top=args.top, csv=args.csv, jsonl=args.jsonl,
                           truncate=args.truncate, deep=args.deep, collect=args.collect,
                           signal=args.signal)
    except (TypeError, ValueError, OSError, ImportError) as exc:
        print(f"python -m pymemtrack run: error: {exc}", file=sys.stderr)
        return 2


def _plot(args: argparse.Namespace) -> int:
    from .plot import plot_csv

    try:
        out = plot_csv(args.csv, args.output, top=args.top, by=args.by, title=args.title)
    except (ValueError, OSError, ImportError) as exc:
        print(f"python -m pymemtrack plot: error: {exc}", file=sys.stderr)
        return 2
    print(f"Plot written to {out}")
    return 0
