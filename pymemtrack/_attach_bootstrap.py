"""The code ``python -m pymemtrack attach`` runs inside the target process.

This file is the fixed bootstrap of :mod:`pymemtrack.attach`. The caller
never formats data into code: the one line it has the target execute (with
gdb's ``PyRun_SimpleString`` or with ``sys.remote_exec``) compiles this file
and runs it in a fresh namespace whose only extra name is ``REQUEST_DIR``,
the private directory the caller created. Everything else, the report's name
and parameters included, is read from ``REQUEST_DIR/request.json``.

Run that way (``__name__ == '_pymemtrack_attach'``), the module body only
starts a worker thread and returns, so the injected call is over in
milliseconds and the target goes on serving. The worker:

1. waits until the debugger has detached (``TracerPid`` in
   ``/proc/self/status`` is 0), so that nothing it does can run while the
   main thread is still stopped at an arbitrary instruction;
2. writes one ``started`` line to ``REQUEST_DIR/status``;
3. imports pymemtrack: the target's own, or, when the target has none, the
   caller's installation (only for the same ``major.minor`` and ABI);
4. runs the report named in the request through :data:`REPORTS`;
5. writes one JSON document and a newline to ``REQUEST_DIR/result``, a file
   the caller created with mode 0600 (the worker never creates files).

Every failure becomes ``{"ok": false, "reason": ..., "error": ...}`` in the
result file; nothing is printed in the target. Imported normally (as in the
tests), the module starts nothing and its report functions can be called
in-process.

Example:

    >>> import pymemtrack
    >>> from pymemtrack import _attach_bootstrap as boot
    >>> out = boot.run_report(pymemtrack, {'report': 'summary', 'limit': 3})
    >>> out['ok'], out['text'].startswith('Snapshot at')
    (True, True)
    >>> boot.run_report(pymemtrack, {'report': 'nope'})['reason']
    'unknown-report'
"""

import gc
import json
import os
import sys
import time

PROTOCOL = 1
REQUEST_NAME = "request.json"
STATUS_NAME = "status"
RESULT_NAME = "result"
# How long the worker waits for the debugger to detach before it goes on
# anyway (the target is then no longer stopped mid-bytecode: see the docstring).
DETACH_WAIT = 30.0


class ReportError(Exception):
    """A report that cannot run; ``reason`` is a short machine-readable code."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def run_report(pm, request):
    """Run the report ``request['report']`` with pymemtrack module ``pm``.

    Returns ``{"ok": True, "text": ..., "data": ...}``, or
    ``{"ok": False, "reason": ..., "error": ...}`` when the report cannot run
    (an unknown report, or a pymemtrack without the function it needs).

    Example:

        >>> import pymemtrack
        >>> out = run_report(pymemtrack, {'report': 'growth', 'interval': 0.01, 'count': 1})
        >>> out['ok'], len(out['data']['rounds'])
        (True, 1)
    """
    name = request.get("report")
    func = REPORTS.get(name)
    if func is None:
        return _error("unknown-report", f"unknown report {name!r}; known: {', '.join(REPORTS)}")
    try:
        text, data = func(pm, request)
    except ReportError as exc:
        return _error(exc.reason, str(exc))
    return {"ok": True, "text": text, "data": data}


# --- the reports: ONE dispatch table ------------------------------------------

def _growth(pm, request):
    interval = float(request.get("interval", 1.0))
    count = int(request.get("count", 1))
    limit = int(request.get("limit", 10))
    # Only str objects (not tracked by the collector) are kept between
    # snapshots, so the report adds no growth of its own.
    texts = []
    rounds = []
    top = []
    gc.collect()
    prev = pm.snapshot()
    for _ in range(count):
        time.sleep(interval)
        gc.collect()
        cur = pm.snapshot()
        diff = cur.compare_to(prev)
        texts.append(diff.format(limit))
        changed = [row for row in diff if row.count_delta or row.size_delta][:limit]
        rounds.append(json.dumps([[r.type_name, r.count, r.count_delta, r.size, r.size_delta]
                                  for r in changed]))
        top = [r.type_name for r in changed if r.count_delta > 0][:1]
        del diff, changed
        prev = cur
    if count == 1:
        text = texts[0]
    else:
        text = "\n\n".join(f"Round {i} of {count} ({interval:g} s):\n{t}"
                           for i, t in enumerate(texts, 1))
    holder = None
    holder_error = None
    if top:
        try:
            holder = _why_text(pm, top[0])
        except ReportError as exc:
            holder_error = str(exc)
        if holder:
            text += f"\n\n{top[0]} is held by:\n{holder}"
        else:
            text += f"\n\n(the holder of {top[0]} is not shown: {holder_error})"
    data = {
        "interval": interval,
        "count": count,
        "rounds": [[dict(zip(("type", "count", "count_delta", "size", "size_delta"), row))
                    for row in json.loads(r)] for r in rounds],
        "top": top[0] if top else None,
        "holder": holder,
        "holder_error": holder_error,
    }
    return text, data


def _summary(pm, request):
    limit = int(request.get("limit", 10))
    try:
        snap = pm.snapshot(sizes=True)
    except TypeError:   # a pymemtrack without sizes
        snap = pm.snapshot()
    rows = snap.rows()
    data = {
        "total_count": snap.total_count,
        "total_size": snap.total_size,
        "types": len(rows),
        "rows": [[r.type_name, r.count, r.size] for r in rows[:limit]],
    }
    return snap.format(limit), data


def _why(pm, request):
    type_name = request.get("type")
    if not type_name:
        raise ReportError("bad-request", "the 'why' report needs a type name")
    result = _why_result(pm, type_name)
    return str(result), {"type": type_name, "text": str(result), "path": _as_data(result)}


def _cycles(pm, request):
    func = _need(pm, "garbage_cycles", "cycles")
    result = func()
    if isinstance(result, (list, tuple)):
        text = "\n\n".join(str(c) for c in result) or "No garbage cycles."
        data = [_as_data(c) for c in result]
    else:
        text = str(result)
        data = _as_data(result)
    return text, {"cycles": data}


def _memory(pm, request):
    func = _need(pm, "memory_usage", "memory")
    usage = func()
    text = str(usage)
    data = {"usage": _as_data(usage), "verdict": None, "verdict_error": None}
    monitor_type = getattr(pm, "Monitor", None)
    if monitor_type is None or not hasattr(monitor_type, "verdict"):
        data["verdict_error"] = _missing(pm, "Monitor.verdict", "memory")
    else:
        try:
            monitor = monitor_type()
            sample = getattr(monitor, "sample", None)
            if sample is not None:
                sample()
                time.sleep(float(request.get("interval", 1.0)))
                sample()
            data["verdict"] = _as_data(monitor.verdict())
        except Exception as exc:  # the contract is not settled yet: report, never crash
            data["verdict_error"] = f"Monitor.verdict() failed: {type(exc).__name__}: {exc}"
    if data["verdict"] is not None:
        text += f"\nVerdict: {data['verdict']}"
    elif data["verdict_error"]:
        text += f"\n({data['verdict_error']})"
    return text, data


REPORTS = {
    "growth": _growth,
    "summary": _summary,
    "why": _why,
    "cycles": _cycles,
    "memory": _memory,
}


# --- helpers ---------------------------------------------------------------------

def _error(reason, message):
    return {"ok": False, "reason": reason, "error": message}


def _missing(pm, what, report):
    where = getattr(pm, "__file__", None) or "?"
    version = getattr(pm, "__version__", "?")
    return (f"this pymemtrack ({version} at {os.path.dirname(where)}) has no {what}() yet, "
            f"which the '{report}' report needs")


def _need(pm, name, report):
    func = getattr(pm, name, None)
    if func is None:
        raise ReportError("missing-feature", _missing(pm, name, report))
    return func


def _why_result(pm, type_name):
    why_alive = _need(pm, "why_alive", "why")
    objs = pm.by_type(type_name)
    if not objs:
        raise ReportError("no-object", f"no object of type {type_name!r} in the target")
    sample = objs[-1]   # the walk meets the youngest objects last
    del objs
    return why_alive(sample)


def _why_text(pm, type_name):
    return str(_why_result(pm, type_name))


def _as_data(obj, depth=0):
    """A JSON-able copy of ``obj`` (bounded depth; unknown objects as str)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if depth > 6:
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _as_data(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_as_data(v, depth + 1) for v in obj]
    for method in ("to_dict", "as_dict", "_asdict"):
        func = getattr(obj, method, None)
        if callable(func):
            try:
                return _as_data(func(), depth + 1)
            except Exception:
                break
    for attr in ("path", "steps"):
        value = getattr(obj, attr, None)
        if isinstance(value, (list, tuple)):
            return _as_data(value, depth + 1)
    if hasattr(obj, "keys") and hasattr(obj, "__getitem__"):
        try:
            return {str(k): _as_data(obj[k], depth + 1) for k in obj.keys()}
        except Exception:
            pass
    return str(obj)


def _import_pymemtrack(request):
    """The target's pymemtrack, or the caller's when the target has none."""
    try:
        import pymemtrack
        # A pymemtrack an earlier attach loaded from a caller stays in sys.modules.
        return pymemtrack, ("caller" if getattr(pymemtrack, "_loaded_by_attach", False)
                            else "target")
    except ImportError as exc:
        own_error = f"{type(exc).__name__}: {exc}"
    caller = request.get("caller", {})
    path = caller.get("path")
    want = tuple(caller.get("version", ()))
    here = sys.version_info[:2]
    mine = f"Python {here[0]}.{here[1]} ({sys.executable or '?'})"
    if want != here:
        want_s = ".".join(map(str, want)) or "?"
        raise ReportError(
            "version-mismatch",
            f"pymemtrack is not importable in the target, {mine} ({own_error}), and the "
            f"caller's installation at {path} is for Python {want_s}, so it cannot be loaded "
            f"there. Install pymemtrack into the target's environment ("
            f"{sys.executable or 'python'} -m pip install pymemtrack), or run "
            f"'python{here[0]}.{here[1]} -m pymemtrack attach' with a Python "
            f"{here[0]}.{here[1]} that has pymemtrack.")
    import importlib.machinery
    core = caller.get("core", "")
    if not any(core.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES):
        raise ReportError(
            "abi-mismatch",
            f"pymemtrack is not importable in the target, {mine} ({own_error}), and the "
            f"caller's C core {core!r} does not match its ABI "
            f"({', '.join(importlib.machinery.EXTENSION_SUFFIXES)}).")
    sys.path.insert(0, path)
    try:
        import pymemtrack
    except ImportError as exc:
        raise ReportError("import-failed",
                          f"the caller's pymemtrack at {path} did not import in the target: "
                          f"{type(exc).__name__}: {exc}") from None
    finally:
        try:
            sys.path.remove(path)
        except ValueError:
            pass
    pymemtrack._loaded_by_attach = True
    return pymemtrack, "caller"


def _tracer_pid():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _write_file(path, text):
    """Write ``text`` into an existing regular file we own; never create one."""
    flags = os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        import stat
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def _target_info(pm, source):
    return {
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "pymemtrack": getattr(pm, "__version__", None) if pm is not None else None,
        "pymemtrack_path": (os.path.dirname(pm.__file__)
                            if pm is not None and getattr(pm, "__file__", None) else None),
        "pymemtrack_from": source,
    }


def _worker(request_dir):
    result_path = os.path.join(request_dir, RESULT_NAME)
    try:
        deadline = time.monotonic() + DETACH_WAIT
        while _tracer_pid() != 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(os.path.join(request_dir, REQUEST_NAME), encoding="utf-8") as f:
            request = json.load(f)
        _write_file(os.path.join(request_dir, STATUS_NAME),
                    f"started {os.getpid()} {sys.version.split()[0]}\n")
        pm, source = None, None
        try:
            if request.get("protocol") != PROTOCOL:
                raise ReportError("protocol", f"request protocol {request.get('protocol')!r}, "
                                              f"this bootstrap speaks {PROTOCOL}")
            pm, source = _import_pymemtrack(request)
            out = run_report(pm, request)
        except ReportError as exc:
            out = _error(exc.reason, str(exc))
        except Exception as exc:
            out = _error("report-failed", f"{type(exc).__name__}: {exc}")
        out["target"] = _target_info(pm, source)
        _write_file(result_path, json.dumps(out) + "\n")
    except Exception as exc:
        # The caller gave up and removed its directory, or it is unreadable:
        # try once to say so, never print in the target.
        try:
            _write_file(result_path, json.dumps(_error("bootstrap-failed",
                                                       f"{type(exc).__name__}: {exc}")) + "\n")
        except Exception:
            pass


def _start():
    import _thread
    _thread.start_new_thread(_worker, (REQUEST_DIR,))  # noqa: F821 - set by the caller


if __name__ == "_pymemtrack_attach":
    _start()
