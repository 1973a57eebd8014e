"""The monitor: outputs, bad input at start, errors in the thread, signals, exit, no self-noise."""

import csv
import io
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pymemtrack
from pymemtrack import monitor as monitor_mod
from pymemtrack.memory import _sizes_available


class Leaked:
    pass


class Leaked2:
    pass


class Leaked3:
    pass


def _wait_for(predicate, what, timeout=60.0):
    """Polls until predicate() is true (the thread samples on its own schedule)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_samples_report_growth_between_samples():
    with pymemtrack.start_monitor(interval=3600, top=5, log=False) as m:
        assert [s.reason for s in m.samples] == ["start"]
        held = [Leaked() for _ in range(3000)]
        m.dump()
        _wait_for(lambda: len(m.samples) == 2, "the dump sample")
    first, dumped, last = m.samples
    assert (first.index, dumped.index, last.index) == (0, 1, 2)
    assert [s.reason for s in m.samples] == ["start", "signal", "stop"]
    rows = {r.type: r for r in dumped.growth}
    assert rows["test_monitor.Leaked"].count_delta == 3000
    assert rows["test_monitor.Leaked"].count == 3000
    assert dumped.objects_delta == dumped.memory.gc_objects - first.memory.gc_objects
    assert "test_monitor.Leaked" not in {r.type for r in last.growth}
    assert len(first.top) == 5 and first.top[0].count >= first.top[-1].count
    assert first.memory.rss > 0
    assert m.growth_since_start()[0].type == "test_monitor.Leaked"
    assert not m.running and m.errors == 0
    del held


def test_csv_jsonl_and_logging_outputs(tmp_path, caplog):
    table, lines = tmp_path / "m.csv", tmp_path / "m.jsonl"
    caplog.set_level(logging.INFO, logger="pymemtrack")
    m = pymemtrack.start_monitor(interval=3600, top=3, csv=table, jsonl=lines)
    held = [Leaked2() for _ in range(500)]
    m.stop()
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [r["reason"] for r in records] == ["start", "stop"]
    assert records[1]["growth"][0] == {"type": "test_monitor.Leaked2", "count": 500,
                                       "count_delta": 500,
                                       "bytes": records[1]["growth"][0]["bytes"],
                                       "bytes_delta": records[1]["growth"][0]["bytes_delta"]}
    assert records[1]["rss"] == m.samples[1].memory.rss
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(monitor_mod.CSV_FIELDS)
    leaked = [r for r in rows if r["type"] == "test_monitor.Leaked2"]
    assert [(r["sample"], r["count"], r["count_delta"]) for r in leaked] == [("1", "500", "500")]
    assert {r["sample"] for r in rows} == {"0", "1"}
    assert all(int(r["rss"]) > 0 for r in rows)
    if not _sizes_available():
        assert all(r["bytes"] == "" for r in rows)      # unknown, not 0
    ours = [r for r in caplog.records if r.name == "pymemtrack"]
    assert len(ours) == 2
    assert "test_monitor.Leaked2 +500" in ours[1].getMessage()
    assert ours[1].pymemtrack["growth"][0]["type"] == "test_monitor.Leaked2"
    assert ours[1].pymemtrack["sample"] == 1
    del held


def test_files_are_appended_not_truncated_unless_asked(tmp_path):
    table, lines = tmp_path / "m.csv", tmp_path / "m.jsonl"
    for _ in range(2):
        pymemtrack.start_monitor(interval=3600, log=False, csv=table, jsonl=lines).stop()
    assert len(lines.read_text().splitlines()) == 4
    with open(table, newline="") as f:
        rows = list(csv.reader(f))
    assert rows.count(list(monitor_mod.CSV_FIELDS)) == 1          # one header
    pymemtrack.start_monitor(interval=3600, log=False, csv=table, jsonl=lines,
                             truncate=True).stop()
    assert len(lines.read_text().splitlines()) == 2


def test_foreign_csv_is_refused(tmp_path):
    table = tmp_path / "other.csv"
    table.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a pymemtrack CSV"):
        pymemtrack.start_monitor(interval=1, csv=table)
    assert table.read_text() == "a,b\n1,2\n"


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"interval": 0}, ValueError, "interval"),
    ({"interval": -1.5}, ValueError, "interval"),
    ({"interval": float("nan")}, ValueError, "interval"),
    ({"interval": float("inf")}, ValueError, "interval"),
    ({"interval": "10"}, TypeError, "interval"),
    ({"interval": True}, TypeError, "interval"),
    ({"top": 0}, ValueError, "top"),
    ({"top": 2.0}, TypeError, "top"),
    ({"max_samples": 0}, ValueError, "max_samples"),
    ({"log": "yes"}, TypeError, "log"),
    ({"log_level": "INFO"}, TypeError, "log_level"),
    ({"csv": 5}, TypeError, "csv"),
    ({"jsonl": ""}, ValueError, "jsonl"),
    ({"signal": "SIGNOPE"}, ValueError, "unknown signal"),
    ({"signal": "SIG_DFL"}, ValueError, "unknown signal"),
    ({"signal": 10_000}, ValueError, "unknown signal"),
    ({"signal": signal.SIGKILL}, ValueError, "cannot be caught"),
    ({"signal": 1.0}, TypeError, "signal"),
    ({"prometheus": "yes"}, TypeError, "prometheus"),
])
def test_bad_arguments_fail_at_start(kwargs, exc, words):
    before = threading.active_count()
    with pytest.raises(exc, match=words):
        pymemtrack.start_monitor(**kwargs)
    assert threading.active_count() == before


def test_unwritable_paths_fail_at_start(tmp_path):
    with pytest.raises(OSError, match="cannot open the csv output"):
        pymemtrack.start_monitor(interval=1, csv=tmp_path / "missing-dir" / "m.csv")
    with pytest.raises(OSError, match="cannot open the jsonl output"):
        pymemtrack.start_monitor(interval=1, jsonl=tmp_path)            # a directory
    assert not any(t.name == "pymemtrack-monitor" for t in threading.enumerate())


def test_deep_without_sizes_fails_at_start():
    if _sizes_available():
        m = pymemtrack.start_monitor(interval=3600, log=False, deep=True)
        m.stop()
        assert m.samples[-1].memory.python_bytes > 0
    else:
        with pytest.raises(ValueError, match="deep=True needs object sizes"):
            pymemtrack.start_monitor(interval=1, deep=True)


def test_signal_only_from_the_main_thread():
    errors = []

    def start():
        try:
            pymemtrack.start_monitor(interval=1, signal="SIGUSR1")
        except ValueError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=start)
    t.start()
    t.join()
    assert errors and "main thread" in errors[0]


def test_signal_dumps_a_sample_and_is_restored():
    old = signal.getsignal(signal.SIGUSR1)
    m = pymemtrack.start_monitor(interval=3600, log=False, signal="usr1")
    try:
        assert signal.getsignal(signal.SIGUSR1) == m._on_signal
        os.kill(os.getpid(), signal.SIGUSR1)
        _wait_for(lambda: len(m.samples) == 2, "the signal's sample")
        assert m.samples[1].reason == "signal"
    finally:
        m.stop()
    assert signal.getsignal(signal.SIGUSR1) == old


def test_no_signal_handler_unless_asked():
    before = {s: signal.getsignal(s) for s in signal.valid_signals()
              if s not in (signal.SIGKILL, signal.SIGSTOP)}
    m = pymemtrack.start_monitor(interval=3600, log=False)
    after = {s: signal.getsignal(s) for s in before}
    m.stop()
    assert before == after


def test_prometheus_missing_gives_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"pymemtrack\[prometheus\]"):
        pymemtrack.start_monitor(interval=1, prometheus=True)


def test_prometheus_gauges():
    import prometheus_client  # in the [test] extra: missing is a failure, not a skip
    registry = prometheus_client.CollectorRegistry()
    held = [Leaked3() for _ in range(2000)]
    m = pymemtrack.start_monitor(interval=3600, top=200, log=False, prometheus=registry)
    m.stop()
    assert registry.get_sample_value("pymemtrack_rss_bytes") == m.samples[-1].memory.rss
    assert registry.get_sample_value("pymemtrack_gc_objects") == m.samples[-1].memory.gc_objects
    assert registry.get_sample_value("pymemtrack_objects",
                                     {"type": "test_monitor.Leaked3"}) == 2000
    # a second monitor on the same registry reuses the gauges
    del held
    pymemtrack.start_monitor(interval=3600, top=200, log=False, prometheus=registry).stop()
    assert registry.get_sample_value("pymemtrack_objects", {"type": "test_monitor.Leaked3"}) is None


def test_an_exception_in_the_thread_is_logged_once_and_sampling_goes_on(monkeypatch, caplog):
    caplog.set_level(logging.ERROR, logger="pymemtrack")
    real = monitor_mod._usage_from
    failing = [True]

    def flaky(snap, sized):
        if failing[0]:
            raise RuntimeError("allocator figures unavailable")
        return real(snap, sized)

    m = pymemtrack.start_monitor(interval=0.01, log=False)
    monkeypatch.setattr(monitor_mod, "_usage_from", flaky)
    _wait_for(lambda: m.errors >= 3, "three failed samples")
    assert m.running
    failing[0] = False
    n = len(m.samples)
    _wait_for(lambda: len(m.samples) > n, "sampling to resume")
    m.stop()
    errors = [r for r in caplog.records if "allocator figures unavailable" in r.getMessage()]
    assert len(errors) == 1
    assert errors[0].exc_info is not None


def test_stop_is_idempotent_and_a_stopped_monitor_does_not_restart():
    m = pymemtrack.Monitor(interval=3600, log=False)
    assert "new" in repr(m)
    m.start()
    m.stop()
    m.stop()
    assert len(m.samples) == 2
    with pytest.raises(RuntimeError, match="create a new one"):
        m.start()
    m2 = pymemtrack.Monitor(interval=3600, log=False)
    with m2:
        assert m2.running
    assert not m2.running
    assert not any(t.name == "pymemtrack-monitor" for t in threading.enumerate())


def test_stop_without_final_sample():
    m = pymemtrack.start_monitor(interval=3600, log=False)
    m.stop(final=False)
    assert [s.reason for s in m.samples] == ["start"]
    assert m.verdict().kind == "stable"
    assert "only one sample" in m.verdict().explanation


def test_max_samples_keeps_the_first():
    m = pymemtrack.start_monitor(interval=0.01, log=False, max_samples=3)
    _wait_for(lambda: m._count >= 6, "six samples")
    m.stop()
    samples = m.samples
    assert samples[0].index == 0 and samples[0].reason == "start"
    assert len(samples) == 4
    assert [s.index for s in samples[1:]] == list(range(m._count - 3, m._count))


def test_the_monitor_adds_no_noise_of_its_own(tmp_path):
    """An idle program: after the baseline, no sample shows any growth."""
    log = logging.getLogger("pymemtrack-noise-test")
    log.propagate = False
    log.addHandler(logging.StreamHandler(io.StringIO()))
    m = None

    def dozen():          # made before the baseline: it is no growth of the monitor
        return m._count >= 12

    m = pymemtrack.start_monitor(interval=0.02, top=10, csv=tmp_path / "m.csv",
                                 jsonl=tmp_path / "m.jsonl", log=log)
    _wait_for(dozen, "a dozen samples")
    m.stop(final=False)
    noisy = [(s.index, s.growth) for s in m.samples if s.growth]
    assert noisy == []


def test_files_are_flushed_at_exit_without_stop(tmp_path):
    lines = tmp_path / "m.jsonl"
    code = textwrap.dedent(f"""
        import pymemtrack
        class Kept: pass
        m = pymemtrack.start_monitor(interval=3600, log=False, jsonl={str(lines)!r})
        kept = [Kept() for i in range(1000)]
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [r["reason"] for r in records] == ["start", "stop"]
    assert records[1]["growth"][0]["type"] == "__main__.Kept"
    assert records[1]["growth"][0]["count_delta"] == 1000


def test_decoding_a_sample_survives_a_walk_that_holds_every_object(monkeypatch):
    """A walk with a Python filter holds every GC object while the filter
    runs (objgraph's typestats(filter=...) does the same), and so holds a
    tuple another thread is building: tuple(generator) then finds two
    references when it resizes and raises SystemError ("bad argument to
    internal function"), as the monitor thread once did under
    tests/stress_threads.py. The monitor decodes its samples into tuples of
    known size, which are never resized."""
    rows = [{"type": "list", "count": 3, "count_delta": 1, "bytes": None, "bytes_delta": None}] * 2
    record = json.dumps(dict(
        sample=1, time=0.0, elapsed=0.0, reason="test",
        **{f: None for f in monitor_mod.MemoryUsage._fields},
        objects_delta=0, python_bytes_delta=None, rss_delta=None, growth=rows, top=rows))
    paused, resume = threading.Event(), threading.Event()
    real_row = monitor_mod.TypeRow

    def slow_row(**fields):
        if not paused.is_set():           # the first row: the tuple is being built
            paused.set()
            resume.wait(10)
        return real_row(**fields)

    monkeypatch.setattr(monitor_mod, "TypeRow", slow_row)
    errors = []

    def decode():
        try:
            monitor_mod._sample_from_json(record)
        except BaseException as e:        # noqa: B902 - reported below
            errors.append(e)

    decoder = threading.Thread(target=decode)
    decoder.start()
    assert paused.wait(10)

    def let_the_decoder_finish(obj):      # runs while the walk holds every object
        if not resume.is_set():
            resume.set()
            decoder.join(10)
        return False

    pymemtrack._core.typestats(filter=let_the_decoder_finish)
    decoder.join(10)
    assert not decoder.is_alive() and errors == []
