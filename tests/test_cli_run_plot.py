"""``python -m pymemtrack run`` and ``plot``: real subprocesses, real files."""

import csv
import json
import os
import subprocess
import sys
import textwrap

import pytest

from pymemtrack import cli
from pymemtrack.monitor import CSV_FIELDS

LEAKY = textwrap.dedent("""
    import sys, time
    class Order:
        def __init__(self, batch):
            self.lines = [batch]
    kept = []
    for batch in range(4):
        kept.extend(Order(batch) for _ in range(25000))
        time.sleep(0.05)
    print("argv", sys.argv[1:])
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
""")


def _pymemtrack(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pymemtrack", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


@pytest.fixture
def leaky(tmp_path):
    path = tmp_path / "leaky.py"
    path.write_text(LEAKY)
    return path


def test_run_a_script_with_outputs_and_a_report(leaky, tmp_path):
    table, lines = tmp_path / "out.csv", tmp_path / "out.jsonl"
    proc = _pymemtrack("run", "--interval", "0.05", "--top", "3", "--csv", str(table),
                       "--jsonl", str(lines), str(leaky), "--top", "-m", "x")
    assert proc.returncode == 0, proc.stderr
    assert "argv ['--top', '-m', 'x']" in proc.stdout       # program args pass through
    err = proc.stderr
    assert "pymemtrack: sample 0 (start" in err
    assert "Growth since start:" in err
    growth = [line.split()[:3] for line in err.splitlines() if "Order" in line and "+" in line]
    assert ["__main__.Order", "100000", "+100000"] in growth
    assert "Verdict: python-objects: " in err
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert records[0]["reason"] == "start" and records[-1]["reason"] == "stop"
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert max(int(r["count"]) for r in rows if r["type"] == "__main__.Order") == 100000


def test_run_passes_the_exit_status_and_quiet_leaves_only_the_report(leaky):
    proc = _pymemtrack("run", "--quiet", "--interval", "60", str(leaky), "7")
    assert proc.returncode == 7
    assert "pymemtrack: sample" not in proc.stderr
    assert proc.stderr.startswith("pymemtrack: 2 samples")
    assert "Verdict:" in proc.stderr


def test_run_reports_after_an_exception(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("class Held: pass\nheld = [Held() for i in range(40_000)]\n"
                      "raise KeyError('boom')\n")
    proc = _pymemtrack("run", "--quiet", str(script))
    assert proc.returncode == 1
    assert "KeyError: 'boom'" in proc.stderr
    assert "Verdict:" in proc.stderr
    # the program's objects are still counted: its frames hold them until the report
    assert ["__main__.Held", "40000", "+40000"] in [line.split()[:3] for line in
                                                    proc.stderr.splitlines()]


def test_run_a_module(tmp_path):
    (tmp_path / "leakymod.py").write_text(LEAKY)
    proc = _pymemtrack("run", "--quiet", "-m", "leakymod", "a", "--b", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "argv ['a', '--b']" in proc.stdout
    assert "__main__.Order" in proc.stderr


@pytest.mark.parametrize("args, words", [
    (["run"], "needs a script or -m MODULE"),
    (["run", "--interval", "0", "LEAKY"], "interval must be a positive"),
    (["run", "--interval", "abc", "x.py"], "invalid float value"),
    (["run", "--signal", "SIGWHAT", "LEAKY"], "unknown signal"),
    (["run", "--csv", "/nonexistent-dir/out.csv", "LEAKY"], "cannot open the csv output"),
    (["run", "no-such-script.py"], "no such script"),
    (["run", "-m", "no_such_module_here"], "no module named"),
    (["plot", "missing.csv", "-o", "out.png"], "No such file"),
    (["plot", "LEAKY", "-o", "out.png"], "not a pymemtrack monitor CSV"),
    (["plot", "x.csv", "-o", "out.jpg"], "must end in one of"),
    (["plot", "x.csv"], "required"),
])
def test_bad_command_lines(args, words, leaky):
    args = [str(leaky) if a == "LEAKY" else a for a in args]
    proc = _pymemtrack(*args)
    assert proc.returncode == 2
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["run", "plot"])
def test_help(command):
    proc = _pymemtrack(command, "--help")
    assert proc.returncode == 0
    assert "--interval" in proc.stdout if command == "run" else "--output" in proc.stdout
    assert command in _pymemtrack("--help").stdout


@pytest.mark.parametrize("ext, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_plot_draws_the_monitor_csv(leaky, tmp_path, ext, magic):
    table = tmp_path / "out.csv"
    assert _pymemtrack("run", "--quiet", "--interval", "0.05", "--csv", str(table),
                       str(leaky)).returncode == 0
    out = tmp_path / ("plot" + ext)
    proc = _pymemtrack("plot", str(table), "-o", str(out), "--top", "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"Plot written to {out}"
    data = out.read_bytes()
    assert data.startswith(magic)
    if ext == ".svg":
        assert b"__main__.Order" in data and b"RSS (MiB)" in data


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text(",".join(CSV_FIELDS) + "\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert cli.main(["plot", str(table), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "pymemtrack[plot]" in err
    assert not os.path.exists(tmp_path / "x.png")
