"""What the pytest plugin costs: unmarked tests (plugin on vs ``-p no:pymemtrack``), checked tests.

Each configuration is a pytest session in a subprocess (a session cannot be
re-run cleanly in one process); the driver runs them interleaved, several
times, and prints medians and ratios.

1. 2000 unmarked trivial tests: plugin loaded vs ``-p no:pymemtrack``.
2. 200 tests whose body takes about 2 ms: unchecked vs ``--memtrack`` (each
   checked test runs 1 + warmup + runs = 8 times when it does not leak).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

REPS = 7

UNMARKED = "\n".join(f"def test_{i}():\n    pass\n" for i in range(2000))
BODY = textwrap.dedent("""
    import time
    def work():
        end = time.perf_counter() + 0.002
        data = []
        while time.perf_counter() < end:
            data.append({"k": [1, 2, 3]})
    """) + "\n".join(f"def test_{i}():\n    work()\n" for i in range(200))


def session(directory: str, *args: str) -> float:
    """Wall time of one pytest session over ``directory``."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "-p", "no:hypothesispytest", *args, directory]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed ({' '.join(args)}):\n{proc.stdout[-2000:]}")
    return elapsed


def compare(title: str, source: str, base: list[str], other: list[str]) -> None:
    """Interleave the two configurations REPS times; print medians and the ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "test_bench.py"), "w") as f:
            f.write(source)
        session(tmp, *base)          # warm the file system and bytecode caches
        a, b = [], []
        for _ in range(REPS):
            a.append(session(tmp, *base))
            b.append(session(tmp, *other))
    ma, mb = statistics.median(a), statistics.median(b)
    print(title)
    print(f"  {' '.join(base) or '(plugin loaded)':<28} median {ma:7.3f} s")
    print(f"  {' '.join(other) or '(plugin loaded)':<28} median {mb:7.3f} s   ratio {mb / ma:.2f}")


def main() -> None:
    """Run both comparisons."""
    print(f"Python {sys.version.split()[0]}, {REPS} sessions each, interleaved")
    compare("2000 unmarked trivial tests", UNMARKED, ["-p", "no:pymemtrack"], [])
    compare("200 tests of ~2 ms each, unchecked vs --memtrack", BODY, [], ["--memtrack"])


if __name__ == "__main__":
    main()
