"""``python -m pymemtrack demo``: a small service that leaks, and pymemtrack catching it.

The service handles requests; a module-level registry meant to hold "active"
sessions is never cleaned, so every request leaves a Session and its dict of
headers behind. ``show_growth()`` after each batch names exactly those types.
"""

from __future__ import annotations

import sys
from typing import Dict, List, Optional, TextIO

from .counting import show_growth
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
