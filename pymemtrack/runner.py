"""``python -m pymemtrack run``: run a program under the monitor, then report.

The program runs in this interpreter as ``__main__`` (a script path, or a
module with ``module=True``), with ``sys.argv`` set as if it had been started
directly. The monitor's per-sample lines go to stderr; when the program ends
(normally, by ``sys.exit`` or with an exception) a final report with the
growth since start and the verdict is printed to stderr, and its exit status
is returned.

Example:

    >>> import io, os, tempfile
    >>> script = os.path.join(tempfile.mkdtemp(), 'leaky.py')
    >>> with open(script, 'w') as f:
    ...     _ = f.write('class Order: pass\\nkept = [Order() for i in range(50_000)]\\n')
    >>> out = io.StringIO()
    >>> run_program(script, [], interval=3600, quiet=True, file=out)
    0
    >>> print(out.getvalue())  # doctest: +ELLIPSIS
    pymemtrack: 2 samples over ...s
    Growth since start:
      __main__.Order ... +50000...
    Verdict: ...
"""

from __future__ import annotations

import importlib.util
import logging
import os
import runpy
import sys
import traceback
from typing import Any, List, Optional, TextIO

from .monitor import Monitor, logger

__all__ = ["run_program"]


def run_program(target: str, args: List[str], module: bool = False, quiet: bool = False,
                file: Optional[TextIO] = None, **options: Any) -> int:
    """Run a script (or, with ``module``, a module) under a :class:`Monitor`; returns its exit status.

    ``options`` go to :class:`Monitor` (``interval``, ``top``, ``csv``,
    ``jsonl``, ``deep``, ...). ``quiet`` leaves out the per-sample lines;
    the report goes to ``file`` (default stderr).
    """
    out = file if file is not None else sys.stderr
    if module:
        if importlib.util.find_spec(target) is None:
            raise ValueError(f"no module named {target!r}")
    elif not os.path.isfile(target):
        raise ValueError(f"no such script: {target!r}")
    monitor = Monitor(**options)
    handler = None
    saved = (logger.level, logger.propagate)
    if not quiet:
        handler = logging.StreamHandler(out)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    old_argv, old_path = sys.argv[:], sys.path[:]
    status = 0
    # The program's globals (returned by runpy) or its exception (whose frames
    # hold them) stay alive until the last sample, so it sees the end state.
    kept: object = None
    try:
        monitor.start()
        sys.argv = [target, *args]
        if module:
            kept = runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            kept = runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        kept = exc
        status = _exit_status(exc.code)
    except KeyboardInterrupt as exc:
        kept = exc
        traceback.print_exc()
        status = 130
    except BaseException as exc:
        if not monitor.running:      # the monitor did not start: a clear error, no report
            raise
        kept = exc
        traceback.print_exc()
        status = 1
    finally:
        monitor.stop()
        del kept
        sys.argv = old_argv
        sys.path[:] = old_path
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]
    if monitor.samples:
        print(monitor.report(), file=out)
    return status


def _exit_status(code: object) -> int:
    """The process exit status sys.exit(code) would give."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
