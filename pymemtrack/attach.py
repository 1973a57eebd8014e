"""Run a pymemtrack report inside another, already running, Python process.

``python -m pymemtrack attach PID growth`` (or ``summary``, ``why TYPE``,
``cycles``, ``memory``) prints the report in the caller's terminal exactly as
the in-process function prints it; ``--json`` prints it as data. In Python,
:func:`remote_report` does the same and returns a :class:`RemoteReport`.

How it works
------------
1. **The target is checked from /proc, without stopping it**: it exists, is
   not a zombie, belongs to the caller's user, lives in the caller's mount
   namespace (so both see the same files), did not opt out of remote
   debugging (``PYTHON_DISABLE_REMOTE_DEBUG`` or ``-X disable_remote_debug``),
   and is CPython 3.10 or newer. The version comes from the ELF files the
   target runs, read by this module (nothing is executed): the
   ``libpython3.X`` in ``/proc/PID/maps`` when Python is a shared library,
   else ``/proc/PID/exe``, which must export ``PyGILState_Ensure`` and
   ``PyRun_SimpleString`` (a statically linked python does). The exact
   version is the ``Py_Version`` constant (3.11+) read from the file; for
   3.10 it is the ``libpython3.10`` or ``python3.10`` file name, and as a
   last resort ``/proc/PID/exe -I -S -c ...`` run when the executable is
   called ``python*``.
2. **A private directory** (``mkdtemp``, mode 0700) gets ``request.json``
   (the report and its parameters, mode 0600) and two empty files created
   here with mode 0600: ``status`` and ``result``. The target writes into
   them and never creates a file.
3. **One line of Python runs in the target.** It is a fixed template whose
   only variable parts are two paths spelled as hexadecimal digits
   (``bytes.fromhex('2f746d70...').decode()``): the bootstrap file shipped in
   this package (:mod:`pymemtrack._attach_bootstrap`, checked to be a regular
   file not writable by group or others) and the private directory. So no
   quoting can go wrong and nothing from the command line becomes code. The
   line compiles the bootstrap and runs it in a fresh namespace (the target's
   ``__main__`` is not touched); the bootstrap only starts a worker thread,
   which reads the request, runs the report and writes the result.

   * CPython 3.14+, same ``major.minor`` on both sides: ``sys.remote_exec``
     runs the line (written to ``launch.py`` in the private directory) in the
     target's main thread at its next safe point.
   * Otherwise gdb, in batch mode, runs ``pymemtrack/_attach.gdb``: it first
     checks that the stopped main thread is not inside the allocator, the
     collector or GIL/thread-state code (else it detaches, and this module
     retries a moment later), then ``PyGILState_Ensure()``,
     ``PyGC_Disable()``, ``PyRun_SimpleString(line)``, ``PyGC_Enable()`` (if
     it was enabled), ``PyGILState_Release()``, and detaches. Signals cannot
     interrupt those calls. The worker waits until gdb has detached before
     it does anything, so no report runs while the main thread is stopped.
4. **The caller waits** for the result file (with a timeout) and says what
   happened when nothing comes: the bootstrap never ran, or it started and
   did not finish. The private directory is removed afterwards.

If pymemtrack is not importable in the target, the bootstrap loads the
caller's installation, only when the target runs the same ``major.minor``
and ABI as the caller; otherwise the report says so and names both.

Example:

    >>> import os
    >>> remote_report(os.getpid(), "summary")
    Traceback (most recent call last):
    ...
    pymemtrack.attach.AttachError: cannot attach to this process itself: call the pymemtrack functions directly
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

from . import _attach_bootstrap as _boot

__all__ = ["REPORTS", "AttachError", "RemoteReport", "TargetInfo", "inspect_target",
           "remote_report"]

REPORTS = tuple(_boot.REPORTS)
MIN_VERSION = (3, 10)
# gdb itself must finish attaching, injecting and detaching within this time.
GDB_TIMEOUT = 60.0
# How often the gdb transport retries when the target was stopped at an unsafe point.
GDB_UNSAFE_RETRIES = 20

_HERE = os.path.dirname(os.path.abspath(__file__))
_BOOTSTRAP = os.path.join(_HERE, "_attach_bootstrap.py")
_GDB_SCRIPT = os.path.join(_HERE, "_attach.gdb")
_LIBPYTHON = re.compile(r"^libpython(\d+)\.(\d+)([a-z]*)\.so")
_EXE_VERSION = re.compile(r"^python(\d+)\.(\d+)")
# The only characters the injected code may contain: no double quote, no backslash.
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_ '(),.:{}\[\]*\n]+$")


class AttachError(Exception):
    """Attaching failed; ``reason`` is a short code, the message says what to do.

    Reasons: ``bad-request``, ``no-such-process``, ``self``, ``zombie``,
    ``other-user``, ``other-namespace``, ``not-python``, ``unknown-version``,
    ``unsupported-version``, ``remote-debug-disabled``, ``ptrace-denied``,
    ``gdb-missing``, ``gdb-failed``, ``unsafe-point``, ``not-started``,
    ``no-result``, ``bad-result``, and those the target reports
    (``version-mismatch``, ``missing-feature``, ``no-object``, ...).

    Example:

        >>> str(AttachError("no-such-process", "no process 7"))
        'no process 7'
    """

    def __init__(self, reason: str, message: str, target: Optional[dict] = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.target = target or {}

    def to_dict(self) -> Dict[str, Any]:
        """The error as JSON-able data."""
        return {"ok": False, "reason": self.reason, "error": str(self), "target": self.target}


class TargetInfo:
    """What /proc and the target's ELF files say about a process.

    Example:

        >>> info = inspect_target(os.getpid(), allow_self=True)
        >>> info.version[:2] == sys.version_info[:2]
        True
    """

    def __init__(self, pid: int, exe: str, version: Tuple[int, ...], version_source: str,
                 libpython: Optional[str], uid: int) -> None:
        self.pid = pid
        self.exe = exe
        self.version = version
        self.version_source = version_source
        self.libpython = libpython
        self.uid = uid

    @property
    def version_text(self) -> str:
        """``'3.11.7'`` (or ``'3.10'`` when only the minor version is known)."""
        return ".".join(map(str, self.version))

    def to_dict(self) -> Dict[str, Any]:
        """The facts as JSON-able data."""
        return {"pid": self.pid, "exe": self.exe, "python": self.version_text,
                "version_source": self.version_source, "libpython": self.libpython}

    def __repr__(self) -> str:
        return f"<TargetInfo pid={self.pid} python={self.version_text} exe={self.exe!r}>"


class RemoteReport:
    """A report run in another process: ``str()`` is the text it printed there.

    ``data`` holds the same report as JSON-able data; ``target`` says which
    Python and which pymemtrack ran it; ``transport`` is ``'gdb'`` or
    ``'remote_exec'``.

    Example:

        >>> r = RemoteReport(42, "summary", "Snapshot at ...", {"rows": []}, {}, "gdb")
        >>> print(r)
        Snapshot at ...
    """

    def __init__(self, pid: int, report: str, text: str, data: Any, target: dict,
                 transport: str) -> None:
        self.pid = pid
        self.report = report
        self.text = text
        self.data = data
        self.target = target
        self.transport = transport

    def to_dict(self) -> Dict[str, Any]:
        """The report as JSON-able data."""
        return {"ok": True, "pid": self.pid, "report": self.report, "transport": self.transport,
                "target": self.target, "text": self.text, "data": self.data}

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<RemoteReport {self.report} from pid {self.pid} via {self.transport}>"


def remote_report(pid: int, report: str, *, type_name: Optional[str] = None,
                  interval: float = 1.0, count: int = 1, limit: int = 10,
                  timeout: Optional[float] = None, transport: str = "auto") -> RemoteReport:
    """Run ``report`` (one of :data:`REPORTS`) inside process ``pid``.

    ``growth`` takes ``count`` pairs of snapshots ``interval`` seconds apart;
    ``why`` needs ``type_name``; ``limit`` caps the rows shown. ``timeout``
    is how long to wait for the result once the bootstrap runs (default: 30 s
    plus the report's own sleeping). ``transport`` is ``'auto'``, ``'gdb'``
    or ``'remote_exec'``. Raises :class:`AttachError` with a message saying
    what to do when anything goes wrong.

    Example:

        >>> remote_report(1, "nope")
        Traceback (most recent call last):
        ...
        pymemtrack.attach.AttachError: unknown report 'nope': choose one of growth, summary, why, cycles, memory
    """
    request = _make_request(report, type_name, interval, count, limit)
    if timeout is None:
        timeout = 30.0 + (interval * count if report == "growth" else 0.0) + \
            (interval if report == "memory" else 0.0)
    if not (timeout > 0 and math.isfinite(timeout)):
        raise AttachError("bad-request", "timeout must be positive")
    if transport not in ("auto", "gdb", "remote_exec"):
        raise AttachError("bad-request", f"unknown transport {transport!r}")
    info = inspect_target(pid)
    use = _choose_transport(info, transport)
    _check_bootstrap_file(_BOOTSTRAP)
    workdir = tempfile.mkdtemp(prefix="pymemtrack-attach-")
    try:
        os.chmod(workdir, 0o700)
        _write_new(os.path.join(workdir, _boot.REQUEST_NAME), json.dumps(request))
        _write_new(os.path.join(workdir, _boot.STATUS_NAME), "")
        _write_new(os.path.join(workdir, _boot.RESULT_NAME), "")
        code = _bootstrap_line(_BOOTSTRAP, workdir)
        if use == "remote_exec":
            _inject_remote_exec(info, code, workdir)
            how = "remote_exec"
        else:
            how = _inject_gdb(info, code)
        out = _wait_for_result(info, workdir, timeout, how)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    target = dict(info.to_dict(), **out.get("target", {}))
    target["injected"] = how
    if not out.get("ok"):
        raise AttachError(str(out.get("reason", "target-error")),
                          str(out.get("error", "the target reported an error")), target)
    return RemoteReport(pid, report, str(out.get("text", "")), out.get("data"), target, use)


def inspect_target(pid: int, allow_self: bool = False) -> TargetInfo:
    """Check process ``pid`` from /proc and find its Python version.

    Raises :class:`AttachError` for no such process, a zombie, another user's
    process, another mount namespace, a process that is not CPython 3.10+,
    an opt-out of remote debugging, or /proc files ptrace rules hide.

    Example:

        >>> inspect_target(-1)
        Traceback (most recent call last):
        ...
        pymemtrack.attach.AttachError: no such process: -1
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 \
            or not os.path.isdir(f"/proc/{pid}"):
        raise AttachError("no-such-process", f"no such process: {pid}")
    if pid == os.getpid() and not allow_self:
        raise AttachError("self", "cannot attach to this process itself: "
                                  "call the pymemtrack functions directly")
    status = _proc_status(pid)
    if status.get("Tgid", str(pid)) != str(pid):
        raise AttachError("no-such-process", f"{pid} is a thread of process {status['Tgid']}: "
                                             f"attach to {status['Tgid']}")
    if status.get("State", "").startswith("Z"):
        raise AttachError("zombie", f"process {pid} has exited (it is a zombie waiting for "
                                    "its parent); there is nothing to attach to")
    uid = int(status.get("Uid", "-1").split()[0])
    euid = int(status.get("Uid", "-1 -1").split()[1])
    me = os.geteuid()
    if uid != me or euid != me:
        raise AttachError(
            "other-user",
            f"process {pid} belongs to user {_user_name(euid)} and you are "
            f"{_user_name(me)}: pymemtrack attaches only to processes of the same user "
            f"(its result files are private to that user). Run it as that user, e.g. "
            f"'sudo -u {_user_name(euid)} {sys.executable} -m pymemtrack attach {pid} ...'.")
    try:
        same_ns = os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    except PermissionError as exc:
        raise _ptrace_error(pid, exc) from None
    except OSError:
        same_ns = True
    if not same_ns:
        raise AttachError(
            "other-namespace",
            f"process {pid} runs in another mount namespace (a container, or a systemd "
            "service with PrivateTmp=): it cannot see the files pymemtrack passes to it. "
            "Run pymemtrack inside the same namespace (docker exec, nsenter -m -t PID).")
    _check_remote_debug_allowed(pid)
    maps = _read_proc_text(pid, "maps")
    exe = _proc_exe(pid)
    info = _python_version(pid, exe, maps)
    if info is None:
        raise AttachError("not-python", f"process {pid} ({exe}) is not a Python process: "
                                        "it has no libpython and its executable exports no "
                                        "CPython API")
    version, source, lib = info
    if version is None:
        raise AttachError("unknown-version",
                          f"process {pid} ({exe}) runs CPython, but its version could not be "
                          "read from its files (no Py_Version, no version in the file names)")
    if tuple(version[:2]) < MIN_VERSION:
        raise AttachError("unsupported-version",
                          f"process {pid} runs Python {'.'.join(map(str, version))}; pymemtrack "
                          f"supports CPython {MIN_VERSION[0]}.{MIN_VERSION[1]} and newer")
    return TargetInfo(pid, exe, tuple(version), source, lib, uid)


# --- command line ----------------------------------------------------------------

def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``attach`` command to the ``python -m pymemtrack`` subparsers."""
    parser = sub.add_parser(
        "attach", help="run a report inside a running Python process (same user, via "
                       "sys.remote_exec on 3.14+ or gdb)",
        description="Run a pymemtrack report inside a running Python process of the same "
                    "user and print it here. Nothing from this command line runs as code "
                    "in the target: see the README's security model.")
    parser.add_argument("pid", type=int, help="process id of the target")
    reports = parser.add_subparsers(dest="report", metavar="REPORT")
    reports.required = True
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the report as JSON")
    common.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for the result (default: 30 + the report's "
                             "own waiting)")
    common.add_argument("--transport", choices=("auto", "gdb", "remote_exec"), default="auto",
                        help="how to get into the target (default: remote_exec on 3.14+ "
                             "when both sides run the same version, else gdb)")
    growth = reports.add_parser("growth", parents=[common],
                                help="types whose object count grew between snapshots")
    growth.add_argument("--interval", type=float, default=1.0,
                        help="seconds between the two snapshots (default 1)")
    growth.add_argument("--count", type=int, default=1,
                        help="how many intervals to report (default 1)")
    growth.add_argument("--limit", type=int, default=10, help="rows per table (default 10)")
    summary = reports.add_parser("summary", parents=[common],
                                 help="per-type object counts (and bytes)")
    summary.add_argument("--limit", type=int, default=10, help="rows (default 10)")
    why = reports.add_parser("why", parents=[common],
                             help="why a sample object of TYPE is alive")
    why.add_argument("type_name", metavar="TYPE", help="type name, e.g. Session or "
                                                       "mymodule.Session")
    reports.add_parser("cycles", parents=[common], help="garbage reference cycles")
    memory = reports.add_parser("memory", parents=[common],
                                help="RSS, Python bytes, allocator figures and the verdict")
    memory.add_argument("--interval", type=float, default=1.0,
                        help="seconds between the monitor's samples (default 1)")
    return parser


def run_cli(args: argparse.Namespace) -> int:
    """Run ``python -m pymemtrack attach`` for parsed ``args``; returns the exit status."""
    try:
        result = remote_report(
            args.pid, args.report, type_name=getattr(args, "type_name", None),
            interval=getattr(args, "interval", 1.0), count=getattr(args, "count", 1),
            limit=getattr(args, "limit", 10), timeout=args.timeout, transport=args.transport)
    except AttachError as exc:
        if args.json:
            print(json.dumps(dict(exc.to_dict(), pid=args.pid, report=args.report), indent=2))
        else:
            print(f"pymemtrack attach: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.text)
    return 0


# --- the request and the injected line --------------------------------------------

def _make_request(report: str, type_name: Optional[str], interval: float, count: int,
                  limit: int) -> Dict[str, Any]:
    if report not in REPORTS:
        raise AttachError("bad-request",
                          f"unknown report {report!r}: choose one of {', '.join(REPORTS)}")
    if not (interval > 0 and math.isfinite(interval)):
        raise AttachError("bad-request", "--interval must be a positive number of seconds")
    if count < 1 or limit < 1:
        raise AttachError("bad-request", "--count and --limit must be at least 1")
    if report == "why" and not type_name:
        raise AttachError("bad-request", "the 'why' report needs a type name")
    from . import _core
    return {
        "protocol": _boot.PROTOCOL,
        "report": report,
        "type": type_name,
        "interval": float(interval),
        "count": int(count),
        "limit": int(limit),
        "caller": {
            "path": os.path.dirname(_HERE),
            "version": list(sys.version_info[:2]),
            "core": os.path.basename(_core.__file__ or ""),
            "pid": os.getpid(),
        },
    }


def _hex_path(path: str) -> str:
    return "bytes.fromhex('%s').decode('utf8','surrogateescape')" % os.fsencode(path).hex()


def _bootstrap_line(bootstrap: str, workdir: str) -> str:
    """The Python the target runs: a fixed template plus hexadecimal digits.

    It binds no name in the namespace it runs in (the target's ``__main__``
    under gdb) and never raises: a failure is printed with ``sys.excepthook``
    on the target's stderr, as ``sys.remote_exec`` does.
    """
    b = _hex_path(bootstrap)
    code = ("try:\n"
            " exec(compile((lambda f:(f.read(),f.close())[0])(open(%s,'rb')),%s,'exec'),"
            "{'__name__':'_pymemtrack_attach','REQUEST_DIR':%s})\n"
            "except BaseException:\n"
            " __import__('sys').excepthook(*__import__('sys').exc_info())\n"
            ) % (b, b, _hex_path(workdir))
    if not _SAFE_CODE.match(code):  # pragma: no cover - the template guarantees it
        raise AssertionError("unsafe bootstrap line")
    return code


def _check_bootstrap_file(path: str) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise AttachError("bad-install", f"the bootstrap file {path} is missing: {exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AttachError("bad-install", f"the bootstrap file {path} is not a regular file")
    if st.st_mode & 0o022 or st.st_uid not in (0, os.geteuid()):
        raise AttachError("bad-install",
                          f"the bootstrap file {path} can be changed by other users (mode "
                          f"{stat.filemode(st.st_mode)}, owner uid {st.st_uid}); refusing to "
                          "run it in another process")


def _write_new(path: str, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


# --- transports ---------------------------------------------------------------------

def _choose_transport(info: TargetInfo, wanted: str) -> str:
    same = tuple(info.version[:2]) == tuple(sys.version_info[:2])
    can_remote_exec = hasattr(sys, "remote_exec") and same
    if wanted == "remote_exec" and not can_remote_exec:
        if not hasattr(sys, "remote_exec"):
            why = f"this Python ({sys.version.split()[0]}) has no sys.remote_exec (3.14+)"
        else:
            why = (f"the target runs Python {info.version_text} and this one "
                   f"{sys.version.split()[0]}; sys.remote_exec needs the same version")
        raise AttachError("bad-request", f"cannot use remote_exec: {why}")
    if wanted == "auto":
        wanted = "remote_exec" if can_remote_exec else "gdb"
    if wanted == "gdb" and shutil.which("gdb") is None:
        raise AttachError(
            "gdb-missing",
            "gdb is not installed (or not on PATH): pymemtrack uses it to get into Python "
            f"{info.version_text} processes. Install it (Debian/Ubuntu: 'apt-get install "
            "gdb'; Fedora: 'dnf install gdb'). With CPython 3.14+ on both sides, "
            "sys.remote_exec is used instead and gdb is not needed.")
    return wanted


def _inject_remote_exec(info: TargetInfo, code: str, workdir: str) -> None:
    launcher = os.path.join(workdir, "launch.py")
    _write_new(launcher, code)
    try:
        sys.remote_exec(info.pid, launcher)  # type: ignore[attr-defined]
    except PermissionError as exc:
        raise _ptrace_error(info.pid, exc) from None
    except ProcessLookupError:
        raise AttachError("no-such-process", f"process {info.pid} exited") from None
    except (RuntimeError, OSError) as exc:
        text = str(exc)
        if "not enabled" in text or "disabled" in text.lower():
            raise AttachError("remote-debug-disabled",
                              f"remote debugging is disabled in process {info.pid}: {text}. "
                              "It was started with PYTHON_DISABLE_REMOTE_DEBUG, "
                              "-X disable_remote_debug, or a Python built "
                              "--without-remote-debug; pymemtrack respects that.") from None
        if isinstance(exc, OSError) and exc.errno in (1, 13):
            raise _ptrace_error(info.pid, exc) from None
        raise AttachError("remote-exec-failed",
                          f"sys.remote_exec({info.pid}) failed: {type(exc).__name__}: {text}"
                          ) from None


def _inject_gdb(info: TargetInfo, code: str) -> str:
    """Have gdb run ``code`` in the target; returns how: 'direct' or 'pending'."""
    gdb = shutil.which("gdb")
    assert gdb is not None  # _choose_transport checked
    cmd = [gdb, "-p", str(info.pid), "-batch", "-nx",
           "-iex", "set auto-load off",
           "-iex", "set debuginfod enabled off",
           "-ex", 'set $pmt_code_hex = "%s"' % code.encode("ascii").hex(),
           "-x", _GDB_SCRIPT]
    env = dict(os.environ, LC_ALL="C", LANG="C")
    unsafe: List[str] = []
    for attempt in range(GDB_UNSAFE_RETRIES):
        out, err, rc = _run_gdb(cmd, env, info.pid)
        m = re.search(r"^PYMEMTRACK-(INJECTED|QUEUED) (-?\d+)", out, re.M)
        if m:
            if m.group(1) == "QUEUED":
                if m.group(2) != "0":
                    raise AttachError("gdb-failed", f"Py_AddPendingCall failed in process "
                                                    f"{info.pid} (its queue is full); try again")
                return "pending"
            if m.group(2) != "0":
                raise AttachError("gdb-failed",
                                  f"the bootstrap line failed in process {info.pid} "
                                  "(PyRun_SimpleString returned -1; the target printed the "
                                  "traceback on its stderr)")
            return "direct"
        m = re.search(r"^PYMEMTRACK-UNSAFE (.*)$", out, re.M)
        if m:
            unsafe.append(m.group(1).strip())
            time.sleep(0.05 + 0.05 * attempt)
            continue
        m = re.search(r"^PYMEMTRACK-NOSYMBOL (\S+)", out, re.M)
        if m:
            raise AttachError("gdb-failed",
                              f"gdb cannot find {m.group(1)} in process {info.pid}: its "
                              "executable or libpython exports no CPython API (stripped of its "
                              "dynamic symbols?); nothing was done in the target")
        if re.search(r"^PYMEMTRACK-NOMEM", out, re.M):
            raise AttachError("gdb-failed", f"mmap() failed in process {info.pid}; nothing "
                                            "was run in the target")
        raise _gdb_error(info.pid, out, err, rc)
    raise AttachError("unsafe-point",
                      f"process {info.pid} was stopped {len(unsafe)} times at a point where "
                      f"even queueing code is unsafe (in {', '.join(sorted(set(unsafe)))}); "
                      "it was left running untouched. Try again.")


def _run_gdb(cmd: List[str], env: Dict[str, str], pid: int) -> Tuple[str, str, int]:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            errors="replace")
    try:
        out, err = proc.communicate(timeout=GDB_TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGINT makes gdb interrupt the call and unwind it (unwindonsignal);
        # killing gdb in the middle of a call would leave its return breakpoint
        # in the target.
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise AttachError(
            "gdb-failed",
            f"gdb did not finish with process {pid} within {GDB_TIMEOUT:g} s and was "
            "interrupted; the target may be blocked (e.g. a thread holding the GIL forever). "
            f"gdb said: {_tail(out + err)}") from None
    return out, err, proc.returncode


def _gdb_error(pid: int, out: str, err: str, code: int) -> AttachError:
    text = out + "\n" + err
    if "ptrace: Operation not permitted" in text or "Could not attach to process" in text:
        return _ptrace_error(pid, None)
    if "ptrace: No such process" in text:
        return AttachError("no-such-process", f"process {pid} exited before gdb attached")
    if "Python scripting is not supported" in text:
        return AttachError("gdb-failed", "this gdb was built without Python support, which "
                                         "pymemtrack needs to check the target is at a safe "
                                         "point; install a gdb with Python (Debian's has it)")
    if "No symbol" in text and "in current context" in text:
        return AttachError("gdb-failed", f"gdb found no CPython API in process {pid} (is it "
                                         f"stripped of its dynamic symbols?): {_tail(text)}")
    return AttachError("gdb-failed", f"gdb could not run the bootstrap in process {pid} "
                                     f"(exit {code}): {_tail(text)}")


def _tail(text: str, lines: int = 6) -> str:
    kept = [ln for ln in text.strip().splitlines() if ln.strip()][-lines:]
    return " | ".join(kept) or "(no output)"


def _wait_for_result(info: TargetInfo, workdir: str, timeout: float, how: str) -> dict:
    status_path = os.path.join(workdir, _boot.STATUS_NAME)
    result_path = os.path.join(workdir, _boot.RESULT_NAME)
    deadline = time.monotonic() + timeout
    started = ""
    while True:
        text = _read_small(result_path)
        if text.endswith("\n"):
            try:
                return json.loads(text)
            except ValueError:
                raise AttachError("bad-result", f"process {info.pid} wrote a result that is "
                                                f"not JSON: {text[:200]!r}") from None
        started = started or _read_small(status_path)
        if not os.path.isdir(f"/proc/{info.pid}"):
            raise AttachError("no-such-process",
                              f"process {info.pid} exited before it sent the result")
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if not started:
        if how in ("remote_exec", "pending"):
            via = "sys.remote_exec" if how == "remote_exec" else "Py_AddPendingCall"
            why = (f"the code was queued with {via}, which runs when the target's main thread "
                   "next executes Python bytecode; a main thread busy in a long C call, or "
                   "blocked in one while holding the GIL, delays it (it will run then, find "
                   "this request gone and do nothing)")
        else:
            why = ("gdb ran the bootstrap, but its worker thread never started (threads "
                   "cannot start in the target, or it is shutting down)")
        raise AttachError("not-started",
                          f"process {info.pid} did not start the pymemtrack report within "
                          f"{timeout:g} s: {why}. It was left running untouched.")
    raise AttachError("no-result",
                      f"process {info.pid} started the report ({started.strip()}) but sent no "
                      f"result within {timeout:g} s; a large heap can take longer: raise "
                      "--timeout. The report goes on in the target and its result is dropped.")


def _read_small(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(64 << 20)
    except OSError:
        return ""


# --- /proc and ELF ----------------------------------------------------------------------

def _ptrace_error(pid: int, exc: Optional[BaseException]) -> AttachError:
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope: Optional[str] = f.read().strip()
    except OSError:
        scope = None
    meaning = {
        "0": "0 (classic: any process of the same user)",
        "1": "1 (restricted: only your own descendants, unless the target allows you)",
        "2": "2 (admin-only: only with CAP_SYS_PTRACE)",
        "3": "3 (no attach at all, until reboot)",
    }
    if scope is None:
        yama = "Yama is not active here (no /proc/sys/kernel/yama/ptrace_scope)"
    else:
        yama = f"/proc/sys/kernel/yama/ptrace_scope is {meaning.get(scope, scope)}"
    detail = f" ({exc})" if exc else ""
    return AttachError(
        "ptrace-denied",
        f"the kernel does not let you attach to process {pid}{detail}. pymemtrack, like gdb "
        f"and py-spy, needs ptrace rights over the target. {yama}. Ways out: run "
        "'sudo sysctl kernel.yama.ptrace_scope=0' (scope 1 only), or give the caller "
        "CAP_SYS_PTRACE (sudo, or 'setcap cap_sys_ptrace+ep' on the interpreter); in a "
        "container add --cap-add=SYS_PTRACE and a seccomp profile that allows ptrace. A "
        "target that is set-uid or made itself non-dumpable (prctl PR_SET_DUMPABLE) needs "
        "CAP_SYS_PTRACE in any case.")


def _proc_status(pid: int) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for line in _read_proc_text(pid, "status").splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _read_proc_text(pid: int, name: str) -> str:
    try:
        with open(f"/proc/{pid}/{name}", encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except PermissionError as exc:
        raise _ptrace_error(pid, exc) from None
    except FileNotFoundError:
        raise AttachError("no-such-process", f"no such process: {pid}") from None


def _proc_exe(pid: int) -> str:
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except PermissionError as exc:
        raise _ptrace_error(pid, exc) from None
    except FileNotFoundError:
        raise AttachError("no-such-process", f"no such process: {pid}") from None
    except OSError:
        return ""   # kernel threads have no executable
    return exe


def _user_name(uid: int) -> str:
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _check_remote_debug_allowed(pid: int) -> None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read().split(b"\0")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except PermissionError as exc:
        raise _ptrace_error(pid, exc) from None
    except OSError:
        return
    how = None
    for item in environ:
        if item.startswith(b"PYTHON_DISABLE_REMOTE_DEBUG=") and item.partition(b"=")[2]:
            how = "PYTHON_DISABLE_REMOTE_DEBUG=" + item.partition(b"=")[2].decode(errors="replace")
    for i, arg in enumerate(argv):
        if arg in (b"-X", b"-Xdisable_remote_debug", b"-Xdisable-remote-debug") or \
                arg.startswith(b"-Xdisable"):
            value = argv[i + 1] if arg == b"-X" and i + 1 < len(argv) else arg[2:]
            if value.replace(b"-", b"_") == b"disable_remote_debug":
                how = "-X disable_remote_debug"
    if how:
        raise AttachError(
            "remote-debug-disabled",
            f"remote debugging is disabled in process {pid} (it was started with {how}); "
            "pymemtrack respects that opt-out whatever the Python version. Restart it "
            "without that setting to allow attaching.")


def _python_version(pid: int, exe: str, maps: str
                    ) -> Optional[Tuple[Optional[Tuple[int, ...]], str, Optional[str]]]:
    """``(version or None, how it was found, libpython path)``, or None if not Python."""
    for line in maps.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        path = parts[5].strip()
        m = _LIBPYTHON.match(os.path.basename(path))
        if m:
            lib = path[:-len(" (deleted)")] if path.endswith(" (deleted)") else path
            found = _elf_lookup(f"/proc/{pid}/map_files/{parts[0]}", lib)
            if found.get("Py_Version"):
                return _hex_version(found["Py_Version"]), "Py_Version in " + lib, lib
            return (int(m.group(1)), int(m.group(2))), "file name " + os.path.basename(lib), lib
    found = _elf_lookup(f"/proc/{pid}/exe", exe)
    if not (found.get("PyGILState_Ensure") and found.get("PyRun_SimpleString")):
        return None
    if found.get("Py_Version"):
        return _hex_version(found["Py_Version"]), "Py_Version in " + exe, None
    base = os.path.basename(exe)
    m = _EXE_VERSION.match(base)
    if m:
        return (int(m.group(1)), int(m.group(2))), "file name " + base, None
    if base.startswith("python"):
        version = _ask_executable(pid)
        if version:
            return version, f"running {exe} -c", None
    return None, "", None


def _hex_version(value: int) -> Tuple[int, int, int]:
    return (value >> 24) & 0xFF, (value >> 16) & 0xFF, (value >> 8) & 0xFF


def _ask_executable(pid: int) -> Optional[Tuple[int, ...]]:
    try:
        proc = subprocess.run(
            [f"/proc/{pid}/exe", "-I", "-S", "-c",
             "import sys; print('%d %d %d' % sys.version_info[:3])"],
            capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        return tuple(int(x) for x in proc.stdout.split())[:3] or None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _elf_lookup(path: str, fallback: str) -> Dict[str, int]:
    """Defined dynamic symbols of interest in an ELF file: name -> 1, or the
    ``Py_Version`` constant's value. Unreadable or non-ELF files give ``{}``."""
    for candidate in (path, fallback):
        if not candidate:
            continue
        try:
            with open(candidate, "rb") as f:
                return _elf_symbols(f)
        except (OSError, ValueError, struct.error):
            continue
    return {}


_WANTED = (b"PyGILState_Ensure", b"PyRun_SimpleString", b"Py_Version")


def _elf_symbols(f: Any) -> Dict[str, int]:
    ident = f.read(16)
    if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise ValueError("not an ELF file")
    is64 = ident[4] == 2
    end = "<" if ident[5] == 1 else ">"
    if is64:
        f.seek(0x28)
        shoff, = struct.unpack(end + "Q", f.read(8))
        f.seek(0x3A)
        shentsize, shnum, _shstrndx = struct.unpack(end + "HHH", f.read(6))
        sh_fmt, sym_fmt, sym_size, word = end + "IIQQQQIIQQ", end + "IBBHQQ", 24, "Q"
    else:
        f.seek(0x20)
        shoff, = struct.unpack(end + "I", f.read(4))
        f.seek(0x2E)
        shentsize, shnum, _shstrndx = struct.unpack(end + "HHH", f.read(6))
        sh_fmt, sym_fmt, sym_size, word = end + "IIIIIIIIII", end + "IIIBBH", 16, "I"
    if shoff == 0 or shnum == 0 or shnum > 65000:
        return {}
    f.seek(shoff)
    raw = f.read(shentsize * shnum)
    sections = [struct.unpack_from(sh_fmt, raw, i * shentsize) for i in range(shnum)]
    # (name, type, flags, addr, offset, size, link, info, addralign, entsize)
    found: Dict[str, int] = {}
    for sec in sections:
        if sec[1] != 11:    # SHT_DYNSYM
            continue
        strtab = sections[sec[6]]
        f.seek(strtab[4])
        names = f.read(strtab[5])
        f.seek(sec[4])
        table = f.read(sec[5])
        for i in range(len(table) // sym_size):
            if is64:
                st_name, _info, _other, shndx, value, _size = \
                    struct.unpack_from(sym_fmt, table, i * sym_size)
            else:
                st_name, value, _size, _info, _other, shndx = \
                    struct.unpack_from(sym_fmt, table, i * sym_size)
            if shndx == 0 or shndx >= len(sections):
                continue
            stop = names.find(b"\0", st_name)
            name = names[st_name:stop]
            if name not in _WANTED:
                continue
            found[name.decode()] = 1
            if name == b"Py_Version":
                holder = sections[shndx]
                if holder[1] == 8:    # SHT_NOBITS
                    continue
                f.seek(holder[4] + value - holder[3])
                found["Py_Version"], = struct.unpack(end + word, f.read(struct.calcsize(word)))
    return found
