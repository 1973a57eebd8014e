"""Docstring examples run; the command line and the demo work; no silent fallback."""

import doctest
import importlib
import os
import shutil
import subprocess
import sys

import pytest

import pymemtrack
import pymemtrack.cycles  # noqa: F401 - for its doctests
import pymemtrack.edges  # noqa: F401 - for its doctests
import pymemtrack.graphs  # noqa: F401
import pymemtrack.refs  # noqa: F401
import pymemtrack.why  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", ["pymemtrack", "pymemtrack.counting", "pymemtrack.snapshot",
                                  "pymemtrack.edges", "pymemtrack.summary",
                                  "pymemtrack.partition", "pymemtrack.refs",
                                  "pymemtrack.graphs", "pymemtrack.why", "pymemtrack.cycles",
                                  "pymemtrack.leakcheck", "pymemtrack.memory",
                                  "pymemtrack.monitor", "pymemtrack.runner",
                                  "pymemtrack.attach", "pymemtrack._attach_bootstrap"])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)   # pymemtrack.snapshot the attribute is a function
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_plot_docstring_examples_run_in_a_subprocess():
    """matplotlib (and numpy) would add ~100k objects to every later heap walk in this process."""
    code = ("import doctest, sys, pymemtrack.plot as m; r = doctest.testmod(m, "
            "optionflags=doctest.ELLIPSIS); sys.exit(r.failed or not r.attempted)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "pymemtrack", *args], capture_output=True,
                          text=True, timeout=300, **kw)


def test_demo_catches_the_leak():
    proc = _run("demo", "--batches", "2", "--per-batch", "100")
    assert proc.returncode == 0, proc.stderr
    growth_lines = [line.split() for line in proc.stdout.splitlines()]
    assert ["Session", "100", "+100"] in growth_lines
    assert ["Session", "200", "+100"] in growth_lines
    assert "pymemtrack.demo.Session" in proc.stdout


def test_demo_cycles_names_the_cycle_and_its_finalizer():
    proc = _run("demo", "--cycles", "--batches", "2", "--per-batch", "50")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Garbage cycles: 100 cycles" in out
    assert "[1] 100 cycles like this" in out
    assert "loop:    Connection.request -> Request.conn -> Connection" in out
    assert "also:    method.__self__ -> Request.on_done -> method" in out
    assert "finalizers: Connection.__del__ (Python __del__)" in out
    assert "owns:    100 bytearray in all" in out
    assert ">>> gc.collect(); Connection.returned\n100" in out


def test_cli_help_and_errors():
    proc = _run("--help")
    assert proc.returncode == 0 and "demo" in proc.stdout
    proc = _run("demo", "--help")
    assert proc.returncode == 0 and "--per-batch" in proc.stdout and "--cycles" in proc.stdout
    proc = _run("demo", "--batches", "0")
    assert proc.returncode == 2 and "at least 1" in proc.stderr
    proc = _run()
    assert proc.returncode == 2


def test_import_without_the_c_core_says_why(tmp_path):
    pkg = tmp_path / "pymemtrack"
    pkg.mkdir()
    for name in os.listdir(os.path.join(ROOT, "pymemtrack")):
        if name.endswith(".py"):
            shutil.copy(os.path.join(os.path.dirname(pymemtrack.__file__), name), pkg / name)
    # -S: no site-packages, so an installed (or editable) pymemtrack cannot
    # answer the import; only the copy without its C core is on the path.
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import pymemtrack"
    proc = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "C core" in proc.stderr
    assert "no pure-Python fallback" in proc.stderr
