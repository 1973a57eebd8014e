"""Docstring examples run; the command line and the demo work; no silent fallback."""

import doctest
import os
import shutil
import subprocess
import sys

import pytest

import pymemtrack
import pymemtrack._attach_bootstrap  # noqa: F401 - for its doctests
import pymemtrack.attach  # noqa: F401 - for its doctests
import pymemtrack.edges  # noqa: F401 - for its doctests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", ["pymemtrack", "pymemtrack.counting", "pymemtrack.snapshot",
                                  "pymemtrack.edges", "pymemtrack.attach",
                                  "pymemtrack._attach_bootstrap"])
def test_docstring_examples_run(name):
    module = sys.modules[name]   # pymemtrack.snapshot the attribute is the function
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


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


def test_cli_help_and_errors():
    proc = _run("--help")
    assert proc.returncode == 0 and "demo" in proc.stdout
    proc = _run("demo", "--help")
    assert proc.returncode == 0 and "--per-batch" in proc.stdout
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
    # -S: no site, so the editable install's finder cannot supply the real _core
    proc = subprocess.run([sys.executable, "-S", "-c", "import pymemtrack"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "C core" in proc.stderr
    assert "no pure-Python fallback" in proc.stderr
