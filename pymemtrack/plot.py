"""Plot a monitor's CSV: object counts of the top types over time, RSS on a second axis.

Needs matplotlib, the ``plot`` extra (``pip install 'pymemtrack[plot]'``).
The figure is drawn with matplotlib's object API, so a program's pyplot
state and backend are left alone.

Example:

    >>> import os, tempfile
    >>> import pymemtrack
    >>> folder = tempfile.mkdtemp()
    >>> table = os.path.join(folder, 'memory.csv')
    >>> with pymemtrack.start_monitor(interval=3600, log=False, csv=table):
    ...     grown = [[i] for i in range(1000)]
    >>> plot_csv(table, os.path.join(folder, 'memory.svg'), top=3)  # doctest: +ELLIPSIS
    '.../memory.svg'
"""

from __future__ import annotations

import csv
import datetime
import os
from typing import Any, Dict, List, Optional, Tuple

from .monitor import CSV_FIELDS

__all__ = ["plot_csv"]

_FORMATS = (".png", ".svg", ".pdf")
_MISSING = ("plotting needs matplotlib, which is not installed: "
            "pip install 'pymemtrack[plot]'")


def plot_csv(path: str, output: str, top: int = 5, by: str = "growth",
             title: Optional[str] = None) -> str:
    """Draw the counts of the ``top`` types in a monitor CSV over time, with RSS; returns ``output``.

    ``by`` picks the types: 'growth' (largest increase from their first to
    their last row) or 'count' (most objects at any time). The format comes
    from ``output``'s extension: .png, .svg or .pdf.
    """
    if by not in ("growth", "count"):
        raise ValueError(f"by must be 'growth' or 'count', not {by!r}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive int, not {top!r}")
    ext = os.path.splitext(output)[1].lower()
    if ext not in _FORMATS:
        raise ValueError(f"output must end in one of {', '.join(_FORMATS)}, not {output!r}")
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(_MISSING) from None
    series, rss = _read(path)
    chosen = _choose(series, top, by)
    # SVG text as text (searchable, selectable), not as glyph outlines
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        _draw(Figure, series, rss, chosen, title or
              f"{os.path.basename(path)}: top {len(chosen)} types by {by}").savefig(output)
    return output


def _draw(figure_type: Any, series: Dict[str, List[Tuple[Any, int]]],
          rss: List[Tuple[Any, int]], chosen: List[str], title: str) -> Any:

    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig = figure_type(figsize=(10, 5.5), layout="constrained")
    ax = fig.add_subplot()
    handles, labels = [], []
    for name in chosen:
        points = series[name]
        line, = ax.plot([p[0] for p in points], [p[1] for p in points], marker=".")
        handles.append(line)
        labels.append(name)      # explicit: "__main__.X" would be hidden as a label= ("_...")
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlabel("time")
    ax.set_ylabel("objects")
    ax.grid(True, alpha=0.3)
    if rss:
        ax2 = ax.twinx()
        line, = ax2.plot([p[0] for p in rss], [p[1] / (1024 * 1024) for p in rss],
                         color="black", linestyle="--")
        ax2.set_ylabel("RSS (MiB)")
        handles.append(line)
        labels.append("RSS (MiB)")
    if handles:
        ax.legend(handles, labels, loc="upper left", fontsize="small")
    ax.set_title(title)
    return fig


def _read(path: str) -> Tuple[Dict[str, List[Tuple[Any, int]]], List[Tuple[Any, int]]]:
    """{type: [(time, count)]} and [(time, rss)] (one per sample) from a monitor CSV."""
    series: Dict[str, List[Tuple[Any, int]]] = {}
    rss: List[Tuple[Any, int]] = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != list(CSV_FIELDS):
            raise ValueError(f"{path!r} is not a pymemtrack monitor CSV (first row {header!r})")
        last_time = None
        for lineno, row in enumerate(reader, start=2):
            try:
                if len(row) != len(CSV_FIELDS):
                    raise ValueError(f"{len(row)} fields, expected {len(CSV_FIELDS)}")
                values = dict(zip(CSV_FIELDS, row))
                when = datetime.datetime.fromisoformat(values["time"])
                count = int(values["count"])
                sample_rss = int(values["rss"]) if values["rss"] else None
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path!r} line {lineno}: not a monitor row ({exc})") from None
            series.setdefault(values["type"], []).append((when, count))
            if when != last_time:
                last_time = when
                if sample_rss is not None:
                    rss.append((when, sample_rss))
    if not series:
        raise ValueError(f"{path!r} has no samples")
    return series, rss


def _choose(series: Dict[str, List[Tuple[Any, int]]], top: int, by: str) -> List[str]:
    if by == "growth":
        def key(name: str) -> Tuple[int, str]:
            points = series[name]
            return (-(points[-1][1] - points[0][1]), name)
    else:
        def key(name: str) -> Tuple[int, str]:
            return (-max(p[1] for p in series[name]), name)
    return sorted(series, key=key)[:top]
