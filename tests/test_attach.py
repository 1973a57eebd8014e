"""``python -m pymemtrack attach``: real leaking child processes, attached to from outside.

Every child is started by a fixture that kills and reaps it, whatever the test
does. The end-to-end tests skip (saying why) only when the kernel refuses
ptrace here; every other failure fails.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

import pymemtrack
from pymemtrack import _attach_bootstrap as boot
from pymemtrack import attach

LEAKY = textwrap.dedent("""
    import sys, threading, time
    class Leaky:
        pass
    HOLD = []
    beat = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else "sleep"
    if mode == "nothreads":
        import _thread
        _thread.start_new_thread = lambda *a, **k: None
    if mode == "nodump":
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)      # PR_SET_DUMPABLE 0
    def work():
        n = 0
        while True:
            HOLD.append(Leaky())
            n += 1
            with open(beat, "w") as f:
                f.write(str(n))
            time.sleep(0.05)
    if mode == "idle":
        threading.Thread(target=work, daemon=True).start()
        time.sleep(3600)
    elif mode == "busy":
        def spin():
            while True:
                [object() for _ in range(100)]
        threading.Thread(target=spin, daemon=True).start()
        n = 0
        while True:
            HOLD.append(Leaky())
            sum(range(5000))        # keep the leak to some MB a second
            n += 1
            if n % 1000 == 0:
                with open(beat, "w") as f:
                    f.write(str(n))
    else:
        work()
""")


def _heartbeat(path):
    try:
        with open(path) as f:
            return int(f.read() or 0)
    except (OSError, ValueError):
        return 0


def _wait_until(predicate, what, limit=30.0):
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def spawn(tmp_path):
    """spawn(mode='sleep', python=sys.executable, args=(), env=None) -> (Popen, beat path)."""
    script = tmp_path / "leaky.py"
    script.write_text(LEAKY)
    children = []

    def start(mode="sleep", python=sys.executable, args=(), env=None):
        beat = tmp_path / f"beat-{len(children)}"
        proc = subprocess.Popen([python, *args, str(script), str(beat), mode],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        children.append(proc)
        _wait_until(lambda: _heartbeat(beat) > 0 or proc.poll() is not None,
                    "the child to start")
        assert proc.poll() is None, proc.stderr.read().decode()
        return proc, beat

    yield start
    for proc in children:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()


def _report(pid, report, **kw):
    try:
        return attach.remote_report(pid, report, **kw)
    except attach.AttachError as exc:
        if exc.reason == "ptrace-denied":
            pytest.skip(f"the OS forbids ptrace here: {exc}")
        raise


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pymemtrack", "attach", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)


def _cli_json(*args, env=None):
    proc = _cli(*args, "--json", env=env)
    data = json.loads(proc.stdout)
    if not data["ok"] and data["reason"] == "ptrace-denied":
        pytest.skip(f"the OS forbids ptrace here: {data['error']}")
    return proc, data


def _needs_gdb():
    if shutil.which("gdb") is None:
        pytest.fail("gdb is not installed: 'make deps' / 'apt-get install gdb'")


def _proc_state(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return fields["State"].split()[0], int(fields["TracerPid"])


def _still_serving(proc, beat):
    state, tracer = _proc_state(proc.pid)
    assert state not in ("T", "t"), f"target left stopped ({state})"
    assert tracer == 0, "a tracer is still attached"
    n = _heartbeat(beat)
    _wait_until(lambda: _heartbeat(beat) > n, "the target to keep serving")


# --- end to end ------------------------------------------------------------------------

def test_growth_names_the_leaking_type(spawn):
    _needs_gdb()
    proc, beat = spawn()
    proc2 = _cli(proc.pid, "growth", "--interval", "1", "--count", "1")
    if proc2.returncode and "does not let you attach" in proc2.stderr:
        pytest.skip(f"the OS forbids ptrace here: {proc2.stderr}")
    assert proc2.returncode == 0, proc2.stderr
    lines = [line.split() for line in proc2.stdout.splitlines()]
    leaky = [line for line in lines if line and line[0] == "__main__.Leaky"]
    assert leaky, proc2.stdout
    assert int(leaky[0][2]) > 0          # '%-*s%9d %+9d': name, count, +delta
    if hasattr(pymemtrack, "why_alive"):
        assert "__main__.Leaky is held by:" in proc2.stdout and "HOLD" in proc2.stdout
    else:
        assert "the holder of __main__.Leaky is not shown" in proc2.stdout
        assert "no why_alive() yet" in proc2.stdout
    _still_serving(proc, beat)


def test_growth_json_parses_and_holds_the_rows(spawn):
    _needs_gdb()
    proc, beat = spawn()
    cli, data = _cli_json(proc.pid, "growth", "--interval", "0.5", "--count", "2")
    assert cli.returncode == 0 and data["ok"], data
    assert data["report"] == "growth" and data["pid"] == proc.pid
    assert data["transport"] == "gdb"
    assert data["target"]["python"].startswith("%d.%d" % sys.version_info[:2])
    assert data["target"]["pymemtrack_from"] == "target"
    assert len(data["data"]["rounds"]) == 2
    for rows in data["data"]["rounds"]:
        mine = [r for r in rows if r["type"] == "__main__.Leaky"]
        assert mine and mine[0]["count_delta"] > 0
    assert data["data"]["top"] == "__main__.Leaky"
    assert "Round 1 of 2" in data["text"] and "Round 2 of 2" in data["text"]
    _still_serving(proc, beat)


def test_summary_in_process_api(spawn):
    _needs_gdb()
    proc, beat = spawn()
    before = _heartbeat(beat)       # each beat appends a Leaky before writing
    result = _report(proc.pid, "summary", limit=500)
    assert str(result).startswith("Snapshot at ")
    names = [row[0] for row in result.data["rows"]]
    assert "__main__.Leaky" in names
    count = dict((r[0], r[1]) for r in result.data["rows"])["__main__.Leaky"]
    assert count >= before > 0
    assert result.data["total_count"] > count
    _still_serving(proc, beat)


def test_idle_main_thread_is_entered_directly(spawn):
    _needs_gdb()
    proc, beat = spawn("idle")
    result = _report(proc.pid, "growth", interval=0.5)
    assert result.target["injected"] == "direct"
    assert "__main__.Leaky" in str(result)
    _still_serving(proc, beat)


def test_busy_main_thread_gets_a_pending_call(spawn):
    _needs_gdb()
    proc, beat = spawn("busy")
    result = _report(proc.pid, "growth", interval=0.5)
    assert result.target["injected"] == "pending"
    assert "__main__.Leaky" in str(result)
    _still_serving(proc, beat)


def test_target_without_pymemtrack_uses_the_callers(spawn):
    _needs_gdb()
    proc, beat = spawn(args=("-S", "-I"))
    result = _report(proc.pid, "summary")
    assert result.target["pymemtrack_from"] == "caller"
    assert result.target["pymemtrack_path"] == os.path.dirname(pymemtrack.__file__)
    _still_serving(proc, beat)


def _other_python():
    mine = sys.version_info[:2]
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for minor in (10, 11, 12, 13, 14):
        if (3, minor) == mine:
            continue
        for root in roots:
            found = sorted(glob.glob(os.path.join(root, "versions", f"3.{minor}.*", "bin",
                                                  "python"))) if root else []
            if found:
                return found[-1], (3, minor)
        exe = shutil.which(f"python3.{minor}")
        if exe:
            return exe, (3, minor)
    return None, None


def test_other_python_version_without_pymemtrack_is_explained(spawn):
    _needs_gdb()
    other, version = _other_python()
    if other is None:
        pytest.skip("no second CPython 3.10+ interpreter is installed on this machine")
    proc, beat = spawn(python=other, args=("-S", "-I"))
    with pytest.raises(attach.AttachError) as info:
        _report(proc.pid, "summary")
    assert info.value.reason == "version-mismatch"
    msg = str(info.value)
    assert "Python %d.%d" % version in msg
    assert "for Python %d.%d" % sys.version_info[:2] in msg
    assert "pip install pymemtrack" in msg
    _still_serving(proc, beat)


@pytest.mark.parametrize("report,args,feature", [
    ("why", ("Leaky",), "why_alive"),
    ("cycles", (), "garbage_cycles"),
    ("memory", ("--interval", "0.1"), "memory_usage"),
])
def test_reports_of_features_not_merged_yet(spawn, report, args, feature):
    _needs_gdb()
    proc, beat = spawn()
    cli, data = _cli_json(proc.pid, report, *args)
    if hasattr(pymemtrack, feature):
        assert cli.returncode == 0 and data["ok"], data
        assert data["text"]
    else:
        assert cli.returncode == 1 and not data["ok"]
        assert data["reason"] == "missing-feature"
        assert f"has no {feature}() yet" in data["error"]
        plain = _cli(proc.pid, report, *args)
        assert plain.returncode == 1 and "Traceback" not in plain.stderr
        assert f"has no {feature}() yet" in plain.stderr
    _still_serving(proc, beat)


def test_why_of_absent_type(spawn):
    _needs_gdb()
    proc, beat = spawn()
    with pytest.raises(attach.AttachError) as info:
        _report(proc.pid, "why", type_name="NoSuchTypeAnywhere")
    if hasattr(pymemtrack, "why_alive"):
        assert info.value.reason == "no-object"
    else:
        assert info.value.reason == "missing-feature"


def test_type_name_is_data_not_code(spawn, tmp_path):
    _needs_gdb()
    proc, beat = spawn()
    marker = tmp_path / "pwned"
    evil = f"x');open({str(marker)!r},'w').write('1');('"
    with pytest.raises(attach.AttachError):
        _report(proc.pid, "why", type_name=evil)
    assert not marker.exists()
    _still_serving(proc, beat)


def test_target_that_never_answers_times_out_clearly(spawn):
    _needs_gdb()
    proc, beat = spawn("nothreads")
    with pytest.raises(attach.AttachError) as info:
        _report(proc.pid, "summary", timeout=3)
    assert info.value.reason == "not-started"
    assert "did not start the pymemtrack report within 3 s" in str(info.value)
    _still_serving(proc, beat)


# --- clear errors ------------------------------------------------------------------------

def test_no_such_process():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) + 1
    proc = _cli(pid, "summary")
    assert proc.returncode == 1
    assert f"no such process: {pid}" in proc.stderr
    proc = _cli(pid, "summary", "--json")
    assert json.loads(proc.stdout)["reason"] == "no-such-process"


def test_not_a_python_process():
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(attach.AttachError) as info:
            attach.remote_report(sleeper.pid, "summary")
        assert info.value.reason == "not-python"
        assert "is not a Python process" in str(info.value)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_zombie():
    child = subprocess.Popen(["true"])
    try:
        _wait_until(lambda: _proc_state(child.pid)[0] == "Z", "the child to exit")
        with pytest.raises(attach.AttachError) as info:
            attach.remote_report(child.pid, "summary")
        assert info.value.reason == "zombie"
    finally:
        child.wait()


def test_thread_id_is_not_a_process(spawn):
    proc, beat = spawn("idle")
    tids = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid]
    assert tids
    with pytest.raises(attach.AttachError) as info:
        attach.remote_report(tids[0], "summary")
    assert f"is a thread of process {proc.pid}" in str(info.value)


def test_self():
    with pytest.raises(attach.AttachError) as info:
        attach.remote_report(os.getpid(), "summary")
    assert info.value.reason == "self"


def test_gdb_missing(spawn, tmp_path):
    proc, beat = spawn()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    cli, data = _cli_json(proc.pid, "summary", "--transport", "gdb",
                          env=dict(os.environ, PATH=str(empty)))
    assert cli.returncode == 1
    assert data["reason"] == "gdb-missing"
    assert "apt-get install gdb" in data["error"]


@pytest.mark.parametrize("how", ["env", "xoption"])
def test_remote_debugging_disabled(spawn, how):
    if how == "env":
        proc, beat = spawn(env=dict(os.environ, PYTHON_DISABLE_REMOTE_DEBUG="1"))
        expect = "PYTHON_DISABLE_REMOTE_DEBUG=1"
    else:
        proc, beat = spawn(args=("-X", "disable_remote_debug"))
        expect = "-X disable_remote_debug"
    with pytest.raises(attach.AttachError) as info:
        attach.remote_report(proc.pid, "summary")
    assert info.value.reason == "remote-debug-disabled"
    assert expect in str(info.value)


def test_ptrace_denied_is_explained(spawn):
    """A non-dumpable target needs CAP_SYS_PTRACE, which the caller drops here."""
    proc, beat = spawn("nodump")
    cmd = [sys.executable, "-m", "pymemtrack", "attach", str(proc.pid), "summary", "--json"]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is not installed, so root cannot drop "
                        "CAP_SYS_PTRACE to provoke a denial")
        cmd = [setpriv, "--bounding-set", "-sys_ptrace", "--inh-caps", "-sys_ptrace", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    data = json.loads(out.stdout)
    assert out.returncode == 1
    assert data["reason"] == "ptrace-denied", data
    for needle in ("ptrace", "CAP_SYS_PTRACE", "ptrace_scope", "PR_SET_DUMPABLE"):
        assert needle in data["error"]
    _still_serving(proc, beat)


def test_gdb_output_is_mapped_to_reasons():
    err = attach._gdb_error(7, "", "ptrace: Operation not permitted.\n", 1)
    assert err.reason == "ptrace-denied" and "ptrace_scope" in str(err)
    err = attach._gdb_error(7, "", "ptrace: No such process.\n", 1)
    assert err.reason == "no-such-process"
    err = attach._gdb_error(7, "", "Python scripting is not supported in this copy of GDB.", 1)
    assert err.reason == "gdb-failed" and "without Python support" in str(err)


@pytest.mark.parametrize("argv,message", [
    (["growth", "--interval", "0"], "--interval must be a positive"),
    (["growth", "--count", "0"], "at least 1"),
    (["summary", "--timeout", "-1"], "timeout must be positive"),
    (["growth", "--interval", "nan"], "--interval must be a positive"),
    (["summary", "--timeout", "inf"], "timeout must be positive"),
])
def test_bad_arguments(argv, message):
    proc = _cli(os.getpid(), *argv)
    assert proc.returncode == 1 and message in proc.stderr


def test_cli_usage():
    proc = _cli("--help")
    assert proc.returncode == 0
    for report in attach.REPORTS:
        assert report in proc.stdout
    assert _cli("123").returncode == 2                 # no report
    assert _cli("123", "why").returncode == 2          # why needs TYPE
    assert _cli("abc", "summary").returncode == 2


# --- the pieces ------------------------------------------------------------------------

def test_bootstrap_code_carries_paths_only_as_hex(tmp_path):
    odd = tmp_path / "it's \"odd\"\n dir"
    odd.mkdir()
    (odd / "boot.py").write_text("OUT.append(REQUEST_DIR)\n")
    request_dir = str(odd / "req'\"")
    code = attach._bootstrap_line(str(odd / "boot.py"), request_dir)
    assert '"' not in code and "\\" not in code and "odd" not in code
    assert re.fullmatch(r"[A-Za-z0-9_ '(),.:{}\[\]*\n]+", code)
    out = []
    import builtins
    builtins.OUT = out
    try:
        namespace = {}
        exec(code, namespace)
    finally:
        del builtins.OUT
    assert out == [request_dir]
    assert set(namespace) == {"__builtins__"}      # binds no name where it runs


def test_bootstrap_refuses_a_writable_file(tmp_path):
    path = tmp_path / "boot.py"
    path.write_text("")
    os.chmod(path, 0o666)
    with pytest.raises(attach.AttachError) as info:
        attach._check_bootstrap_file(str(path))
    assert info.value.reason == "bad-install"
    attach._check_bootstrap_file(attach._BOOTSTRAP)


def test_version_from_elf_files():
    info = attach.inspect_target(os.getpid(), allow_self=True)
    if sys.version_info >= (3, 11):
        assert info.version == tuple(sys.version_info[:3])
        assert info.version_source.startswith("Py_Version in ")
    else:
        assert info.version[:2] == tuple(sys.version_info[:2])
    with open("/bin/sh", "rb") as f:
        assert "PyGILState_Ensure" not in attach._elf_symbols(f)
    with open(__file__, "rb") as f:
        with pytest.raises(ValueError):
            attach._elf_symbols(f)


def test_bootstrap_reports_in_process():
    out = boot.run_report(pymemtrack, {"report": "summary", "limit": 2})
    assert out["ok"] and len(out["data"]["rows"]) == 2
    out = boot.run_report(pymemtrack, {"report": "growth", "interval": 0.01, "count": 2})
    assert out["ok"] and len(out["data"]["rounds"]) == 2
    assert boot.run_report(pymemtrack, {"report": "why"})["reason"] == "bad-request"
    assert boot.run_report(pymemtrack, {"report": "x"})["reason"] == "unknown-report"


def test_bootstrap_missing_features_are_errors_not_crashes():
    class Bare:
        __file__ = "/somewhere/pymemtrack/__init__.py"
        __version__ = "0.0"
    for report, extra in (("why", {"type": "dict"}), ("cycles", {}), ("memory", {})):
        out = boot.run_report(Bare, dict(report=report, **extra))
        assert out == {"ok": False, "reason": "missing-feature", "error": out["error"]}
        assert "this pymemtrack (0.0 at /somewhere/pymemtrack) has no" in out["error"]


def test_bootstrap_uses_the_contracts_when_present():
    class Cycle:
        def __str__(self):
            return "cycle of 2 objects"

    class Usage(dict):
        def __str__(self):
            return "rss 10 MiB"

    class Monitor:
        def verdict(self):
            return "fragmentation"

    class Fake:
        __file__ = "/x/pymemtrack/__init__.py"
        by_type = staticmethod(pymemtrack.by_type)
        garbage_cycles = staticmethod(lambda: [Cycle(), Cycle()])
        memory_usage = staticmethod(lambda: Usage(rss=10))
        why_alive = staticmethod(lambda obj: "module __main__ -> HOLD -> [0]")
    Fake.Monitor = Monitor
    out = boot.run_report(Fake, {"report": "cycles"})
    assert out["text"] == "cycle of 2 objects\n\ncycle of 2 objects"
    out = boot.run_report(Fake, {"report": "memory", "interval": 0.01})
    assert out["text"] == "rss 10 MiB\nVerdict: fragmentation"
    assert out["data"]["usage"] == {"rss": 10}
    out = boot.run_report(Fake, {"report": "why", "type": "function"})
    assert out["text"] == "module __main__ -> HOLD -> [0]"


def test_bootstrap_worker_end_to_end_in_process(tmp_path):
    """The worker's file protocol, run in this process (no debugger)."""
    d = tmp_path / "req"
    d.mkdir(mode=0o700)
    request = attach._make_request("summary", None, 1.0, 1, 3)
    (d / boot.REQUEST_NAME).write_text(json.dumps(request))
    for name in (boot.STATUS_NAME, boot.RESULT_NAME):
        (d / name).write_text("")
    boot._worker(str(d))
    assert (d / boot.STATUS_NAME).read_text().startswith(f"started {os.getpid()} ")
    result = (d / boot.RESULT_NAME).read_text()
    assert result.endswith("\n")
    out = json.loads(result)
    assert out["ok"] and out["target"]["pid"] == os.getpid()
    assert sorted(os.listdir(d)) == sorted([boot.REQUEST_NAME, boot.STATUS_NAME,
                                            boot.RESULT_NAME])


def test_worker_never_creates_files(tmp_path):
    d = tmp_path / "gone"
    boot._worker(str(d))       # the caller removed its directory: nothing happens
    assert not d.exists()


# --- the sys.remote_exec transport (CPython 3.14+), simulated on older versions ---------

@pytest.fixture
def fake_remote_exec(monkeypatch):
    """sys.remote_exec that runs the launcher in THIS process, recording its calls."""
    calls = []

    def remote_exec(pid, script):
        calls.append((pid, script))
        with open(script) as f:
            code = f.read()
        exec(compile(code, script, "exec"), {})

    monkeypatch.setattr(sys, "remote_exec", remote_exec, raising=False)
    return calls


def test_remote_exec_transport_plumbing(spawn, fake_remote_exec):
    proc, beat = spawn()
    result = attach.remote_report(proc.pid, "summary", limit=3)
    assert result.transport == "remote_exec" and result.target["injected"] == "remote_exec"
    (pid, script), = fake_remote_exec
    assert pid == proc.pid and os.path.basename(script) == "launch.py"
    assert not os.path.exists(script)               # the private directory is gone
    assert result.target["pid"] == os.getpid()      # the fake ran it here
    assert str(result).startswith("Snapshot at ")


@pytest.mark.parametrize("exc,reason", [
    (PermissionError(1, "Operation not permitted"), "ptrace-denied"),
    (RuntimeError("Remote debugging is not enabled in the remote process"),
     "remote-debug-disabled"),
    (ProcessLookupError(3, "No such process"), "no-such-process"),
    (RuntimeError("something else"), "remote-exec-failed"),
])
def test_remote_exec_errors_are_explained(spawn, monkeypatch, exc, reason):
    proc, beat = spawn()

    def remote_exec(pid, script):
        raise exc

    monkeypatch.setattr(sys, "remote_exec", remote_exec, raising=False)
    with pytest.raises(attach.AttachError) as info:
        attach.remote_report(proc.pid, "summary")
    assert info.value.reason == reason


def test_remote_exec_needs_the_same_version(spawn, monkeypatch):
    proc, beat = spawn()
    monkeypatch.delattr(sys, "remote_exec", raising=False)
    with pytest.raises(attach.AttachError) as info:
        attach.remote_report(proc.pid, "summary", transport="remote_exec")
    assert "has no sys.remote_exec" in str(info.value)
