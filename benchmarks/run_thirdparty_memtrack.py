"""Run ``pytest --memtrack`` over networkx's own test suite (shipped in its wheel).

Not part of ``make test`` (it takes tens of minutes on 2 cores). Install the
suite first: ``pip install -e '.[thirdparty]'`` (networkx and pytest). Then::

    python benchmarks/run_thirdparty_memtrack.py              # the whole suite
    python benchmarks/run_thirdparty_memtrack.py networkx.algorithms.flow

``--pytest-args '...'`` passes more arguments to pytest. The full output is written to
``memtrack-networkx.log`` in the current directory; the leak check's summary
section and pytest's last line are printed at the end.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    """Run the suite under --memtrack and print the plugin's summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=["networkx"],
                        help="packages whose tests to run (--pyargs); default: networkx")
    parser.add_argument("--log", default="memtrack-networkx.log", help="where the output goes")
    parser.add_argument("--pytest-args", default="", help="more pytest arguments, one string")
    parser.add_argument("--no-memtrack", action="store_true",
                        help="run the same tests without the check (for the time ratio)")
    args = parser.parse_args(argv)
    extra = shlex.split(args.pytest_args)
    try:
        import networkx  # noqa: F401
    except ImportError:
        print("networkx is missing: pip install -e '.[thirdparty]'", file=sys.stderr)
        return 2
    # hypothesis's plugin is off: networkx does not use it, and it would only add time.
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "-p", "no:hypothesispytest", *extra, "--pyargs", *args.packages]
    if not args.no_memtrack:
        cmd.append("--memtrack")
    print("running:", " ".join(cmd), flush=True)
    start = time.perf_counter()
    with open(args.log, "w") as log, tempfile.TemporaryDirectory() as cwd:
        # Run from an empty directory so no conftest or ini file of ours applies.
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    elapsed = time.perf_counter() - start
    with open(args.log) as log:
        lines = log.read().splitlines()
    section = [i for i, line in enumerate(lines) if "pymemtrack leak check" in line]
    if section:
        end = next((i for i in range(section[0] + 1, len(lines)) if lines[i].startswith("====")),
                   len(lines))
        print("\n".join(lines[section[0]:end]))
    print(lines[-1] if lines else "(no output)")
    print(f"wall time {elapsed:.0f} s, pytest exit code {proc.returncode}, log in {args.log}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
