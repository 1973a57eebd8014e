# pymemtrack attach: get one line of Python run in a CPython process.
#
# Run by pymemtrack/attach.py as
#   gdb -p PID -batch -nx -ex 'set $pmt_code_hex = "<hex digits>"' -x _attach.gdb
# where the hex digits spell the bootstrap line (see attach.py): no quoting can
# go wrong. gdb detaches when the batch ends; any error in this file before the
# first call into the target aborts it with nothing done.
#
# The stopped main thread is used in one of two ways:
#   direct  - it is blocked in a system call with the GIL released (sleep,
#             select, epoll, a Python lock...): the line runs right there,
#             between PyGILState_Ensure() and PyGILState_Release(), with the
#             collector paused. Signals cannot interrupt these calls and a
#             finally clause always releases the GIL.
#   pending - anything else (running bytecode, holding the GIL, inside the
#             allocator or the GIL code): running Python there could corrupt
#             the heap or deadlock, so the line is queued with
#             Py_AddPendingCall(), which the interpreter runs in the main
#             thread at its next safe point, as it does with signal handlers.
# Both copy the line into a fresh anonymous mmap page first (gdb would
# otherwise malloc() inside the target, unsafe if it stopped in malloc).
set confirm off
set pagination off
set width 0
set unwindonsignal on
set scheduler-locking off
handle all nostop noprint pass

python
import re

import gdb

# Frames in which running Python code directly is unsafe: the allocators, the
# GIL, the collector, the dynamic loader, pending calls, finalization.
_PMT_UNSAFE = re.compile(
    r"malloc|calloc|realloc|free|arena|tcache|morecore|sbrk|memalign|_gil|collect|"
    r"dlopen|_dl_|pending|finaliz",
    re.IGNORECASE)
# Frames that show a futex wait is a Python-level lock, not the GIL.
_PMT_LOCK_WAIT = re.compile(r"PyThread_acquire_lock|_PySemaphore_Wait|_PyParkingLot_Park")
# x86-64 system calls in which a thread waits with the GIL released and holds
# no allocator lock: read, write, poll, select, nanosleep, pause, connect,
# accept, sendto, recvfrom, sendmsg, recvmsg, wait4, rt_sigtimedwait,
# rt_sigsuspend, clock_nanosleep, epoll_wait, waitid, pselect6, ppoll,
# epoll_pwait, accept4, epoll_pwait2; futex (202) only for a Python lock.
_PMT_WAIT_SYSCALLS = {0, 1, 7, 23, 35, 34, 42, 43, 44, 45, 46, 47, 61, 128, 130, 230, 232,
                      247, 270, 271, 281, 288, 441}
_PMT_FUTEX = 202


def _pmt_eval(expr):
    return int(gdb.parse_and_eval(expr))


def _pmt_frames(limit=48):
    names = []
    try:
        frame = gdb.newest_frame()
        while frame is not None and len(names) < limit:
            names.append(frame.name() or "")
            frame = frame.older()
    except gdb.error:
        pass
    return names


def _pmt_has_symbol(name):
    try:
        gdb.execute("info address " + name, to_string=True)
        return True
    except gdb.error:
        return False


def _pmt_syscall():
    """The system call the stopped thread is blocked in, or None."""
    try:
        nr = int(gdb.parse_and_eval("$orig_rax"))
    except (gdb.error, ValueError):
        return None
    return nr if nr >= 0 else None


def _pmt_mode(names):
    for name in names:
        if re.search(r"pending", name, re.IGNORECASE):
            return "unsafe", name
    syscall = _pmt_syscall()
    if syscall is None:
        return "pending", "not in a system call"
    if syscall != _PMT_FUTEX and syscall not in _PMT_WAIT_SYSCALLS:
        return "pending", "in system call %d" % syscall
    if _pmt_eval("(int) PyGILState_Check()"):
        return "pending", "holds the GIL"
    for name in names:
        if _PMT_UNSAFE.search(name):
            return "pending", "in " + name
    if syscall == _PMT_FUTEX:
        if not any(_PMT_LOCK_WAIT.search(n) for n in names[:12]) \
                and not _pmt_has_symbol("take_gil"):
            return "pending", "waits on a futex that may be the GIL's"
    return "direct", "blocked in system call %d" % syscall


def _pmt_run():
    code = bytes.fromhex(gdb.parse_and_eval("$pmt_code_hex").string()) + b"\0"
    for fn in ("PyGILState_Ensure", "PyGILState_Release", "PyGILState_Check",
               "PyRun_SimpleString", "Py_AddPendingCall", "PyGC_Disable", "PyGC_Enable",
               "mmap"):
        if not _pmt_has_symbol(fn):
            gdb.write("PYMEMTRACK-NOSYMBOL %s\n" % fn)
            return
    names = _pmt_frames()
    mode, why = _pmt_mode(names)
    if mode == "unsafe":
        gdb.write("PYMEMTRACK-UNSAFE %s\n" % why)
        return
    size = (len(code) + 4095) // 4096 * 4096
    buf = _pmt_eval("(long) mmap(0, %d, 3, 0x22, -1, 0)" % size)
    if buf in (0, -1):
        gdb.write("PYMEMTRACK-NOMEM\n")
        return
    gdb.selected_inferior().write_memory(buf, code)
    if mode == "pending":
        rc = _pmt_eval("(int) Py_AddPendingCall((void *) PyRun_SimpleString, (void *) %d)" % buf)
        gdb.write("PYMEMTRACK-QUEUED %d %s\n" % (rc, why))
        return
    rc = -2
    state = _pmt_eval("(int) PyGILState_Ensure()")
    try:
        gc_was = _pmt_eval("(int) PyGC_Disable()")
        try:
            rc = _pmt_eval("(int) PyRun_SimpleString((char *) %d)" % buf)
        finally:
            if gc_was == 1:
                _pmt_eval("(int) PyGC_Enable()")
    finally:
        gdb.parse_and_eval("(void) PyGILState_Release(%d)" % state)
    gdb.write("PYMEMTRACK-INJECTED %d %s\n" % (rc, why))


_pmt_run()
end
detach
