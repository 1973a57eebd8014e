"""``python -m pymemtrack demo``: a small service that leaks, and pymemtrack catching it.

The service handles requests; a module-level registry meant to hold "active"
sessions is never cleaned, so every request leaves a Session and its dict of
headers behind. ``show_growth()`` after each batch names exactly those types.

``python -m pymemtrack demo --cycles``: a service that runs with
``gc.disable()`` (as latency-sensitive services do) and leaks through
reference cycles: each request leaves a Request <-> Connection cycle whose
Connection has a ``__del__``. ``garbage_cycles()`` names the cycle and its
finalizer without collecting anything.
"""

from __future__ import annotations

import gc
import sys
from typing import Dict, List, Optional, TextIO

from .counting import show_growth
from .cycles import garbage_cycles
from .snapshot import snapshot


class Session:
    """One client session: the object the demo service forgets to release."""

    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        self.headers = {"x-request-id": str(request_id), "accept": "*/*"}
        self.chunks: List[bytes] = [b"x" * 64]


_ACTIVE: Dict[int, Session] = {}   # the leak: filled, never emptied


def handle(request_id: int) -> int:
    """Handle one request; returns the response size."""
    session = Session(request_id)
    _ACTIVE[request_id] = session        # registered "while active"...
    body = b"".join(session.chunks)
    return len(body)                     # ...and never unregistered


def run(batches: int = 3, per_batch: int = 500, file: Optional[TextIO] = None) -> None:
    """Run the leaking service and print what pymemtrack sees."""
    out = file if file is not None else sys.stdout
    peaks: Dict[str, int] = {}
    print("pymemtrack demo: a service that keeps every Session in a global registry.", file=out)
    print("\n>>> pymemtrack.show_growth()   # first call: the baseline", file=out)
    show_growth(limit=3, peak_stats=peaks, file=out)
    before = snapshot()
    request_id = 0
    for batch in range(1, batches + 1):
        for _ in range(per_batch):
            request_id += 1
            handle(request_id)
        print(f"\n>>> # after {batch * per_batch} requests", file=out)
        print(">>> pymemtrack.show_growth()", file=out)
        show_growth(limit=5, peak_stats=peaks, file=out)
    print(f"\n>>> print(pymemtrack.snapshot() - before)   # the whole run, {request_id} requests",
          file=out)
    print((snapshot() - before).format(limit=5), file=out)
    print(f"\nSession grew by exactly one per request: the registry _ACTIVE holds "
          f"{len(_ACTIVE)} of them.", file=out)
    _ACTIVE.clear()


# ---- the cycles part ------------------------------------------------------------


class Connection:
    """A pooled connection; its ``__del__`` hands the socket back (a finalizer)."""

    returned = 0

    def __init__(self, request: "Request") -> None:
        self.request = request                # back to the request: the cycle
        self.buffer = bytearray(2048)

    def __del__(self) -> None:
        type(self).returned += 1


class Request:
    """One request; it holds its connection and a callback bound to itself."""

    def __init__(self, request_id: int) -> None:
        self.id = request_id
        self.conn = Connection(self)
        self.on_done = self.finish            # a bound method: a second cycle

    def finish(self) -> int:
        return len(self.conn.buffer)


def handle_with_cycles(request_id: int) -> int:
    """Handle one request; returns the response size. Leaves a cycle behind."""
    return Request(request_id).on_done()


def run_cycles(requests: int = 1500, file: Optional[TextIO] = None) -> None:
    """Run the service with the collector off and print ``garbage_cycles()``."""
    out = file if file is not None else sys.stdout
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        print("pymemtrack demo: a service that runs with gc.disable() and leaks through "
              "reference cycles.", file=out)
        print(f"\n>>> gc.disable()\n>>> for request_id in range({requests}): "
              "handle_with_cycles(request_id)", file=out)
        for request_id in range(requests):
            handle_with_cycles(request_id)
        print("\n>>> print(pymemtrack.garbage_cycles())   # nothing is collected", file=out)
        report = garbage_cycles()
        print(report.format(limit=3), file=out)
        cycles = len(report)
        del report
        print(f"\n>>> Connection.returned   # how often Connection.__del__ ran\n"
              f"{Connection.returned}", file=out)
        gc.collect()
        print(f">>> gc.collect(); Connection.returned\n{Connection.returned}", file=out)
        print(f"\nEvery request left a Request <-> Connection cycle ({cycles:,} of them) that "
              "only the collector frees, so no Connection went back to the pool until "
              "gc.collect(). Break the cycle (a weakref for Connection.request, no "
              "self-bound callback) and refcounting frees each request at once.", file=out)
    finally:
        if was_enabled:
            gc.enable()
