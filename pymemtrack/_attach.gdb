# pymemtrack attach: run the bootstrap line in a CPython process (gdb -batch -p PID).
#
# Used by pymemtrack/attach.py, which sets $pmt_code (one line of Python built
# from a fixed template and hex digits, see attach.py) with -ex before this
# file. Any error in this file aborts it; every check that can fail comes
# before the first call into the target, and the calls themselves cannot be
# interrupted by signals (handle ... nostop, unwindonsignal), so the target is
# never left with the GIL taken. gdb detaches when the batch ends.
set confirm off
set pagination off
set width 0
set unwindonsignal on
set scheduler-locking off
handle all nostop noprint pass

# Every function we call must exist before we call any of them.
set $pmt_f1 = &PyGILState_Ensure
set $pmt_f2 = &PyGILState_Release
set $pmt_f3 = &PyRun_SimpleString
set $pmt_f4 = &PyGC_Disable
set $pmt_f5 = &PyGC_Enable

# Is the stopped thread inside the allocator, the collector, the GIL or
# thread-state code? Running Python there could deadlock or corrupt the heap:
# then say so and let the caller retry a moment later.
python
import re
import gdb

_PMT_UNSAFE = re.compile(
    r"alloc|free|arena|tcache|morecore|sbrk|collect|gc_|_gil|ThreadState|tstate|_dl_|dlopen",
    re.IGNORECASE)


class _PmtUnsafeFrame(gdb.Function):
    """$_pmt_unsafe_frame(): the first unsafe frame's name of the selected thread, or ""."""

    def __init__(self):
        super().__init__("_pmt_unsafe_frame")

    def invoke(self):
        frame = gdb.newest_frame()
        depth = 0
        while frame is not None and depth < 48:
            try:
                name = frame.name() or ""
                older = frame.older()
            except gdb.error:
                return ""
            if _PMT_UNSAFE.search(name):
                return name
            frame = older
            depth += 1
        return ""


_PmtUnsafeFrame()
end

set $pmt_unsafe = $_pmt_unsafe_frame()
if $_strlen($pmt_unsafe) > 0
  printf "PYMEMTRACK-UNSAFE %s\n", $pmt_unsafe
else
  set $pmt_state = (int) PyGILState_Ensure()
  set $pmt_gc = (int) PyGC_Disable()
  set $pmt_rc = (int) PyRun_SimpleString($pmt_code)
  if $pmt_gc == 1
    set $pmt_gc_back = (int) PyGC_Enable()
  end
  call (void) PyGILState_Release($pmt_state)
  printf "PYMEMTRACK-INJECTED %d\n", $pmt_rc
end
detach
