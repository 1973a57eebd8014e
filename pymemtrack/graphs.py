"""objgraph's reference graphs (graphviz DOT), searched by pymemtrack's reference index.

``show_backrefs``, ``show_refs`` and ``show_chain`` take objgraph 3.7's
parameters and write the same DOT: the same nodes, edges, labels and
colours, ``Graph written to X.dot (N nodes)``, then, when ``filename`` names
an image, graphviz ``dot`` renders it (``Image generated as X.png``). Like
objgraph they run ``gc.collect()`` first. The
breadth-first search runs in C: backwards over a reverse-reference index
built with one pass over the heap (objgraph scans the whole heap once per
node), forwards with each object's ``tp_traverse`` as ``gc.get_referents``.

Example:

    >>> import io
    >>> class Leaf: pass
    >>> leaf = Leaf()
    >>> holder = {'leaf': leaf}
    >>> out = io.StringIO()
    >>> show_refs(holder, max_depth=1, output=out)
    >>> print(out.getvalue().replace(str(id(holder)), 'H').replace(str(id(leaf)), 'L'))
    ... # doctest: +ELLIPSIS
    digraph ObjectGraph {
      node[shape=box, style=filled, fillcolor=white];
      oH[fontcolor=red];
      oH[label="dict\\n1 items"];
      oH[fillcolor="0,0,1"];
      oH -> oL [label="leaf",weight=2];
      oL[label="Leaf\\n<...Leaf object at 0x..."];
      oL[fillcolor="0,0,0.3"];
      oL[fontcolor=white];
    }
    <BLANKLINE>
"""

from __future__ import annotations

import errno
import gc
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
from typing import Any, Callable, Dict, Iterable, List, Optional, TextIO, Tuple

from . import _core
from .refs import _check_depth, _ignore_ids, proper_module_ids

__all__ = ["show_backrefs", "show_chain", "show_refs"]

Filter = Optional[Callable[[Any], object]]


def show_backrefs(
    objs: Any,
    max_depth: int = 3,
    extra_ignore: Iterable[int] = (),
    filter: Filter = None,
    too_many: int = 10,
    highlight: Filter = None,
    filename: Optional[str] = None,
    extra_info: Optional[Callable[[Any], Any]] = None,
    refcounts: bool = False,
    shortnames: bool = True,
    output: Optional[TextIO] = None,
    extra_node_attrs: Optional[Callable[[Any], Dict[str, Any]]] = None,
) -> Any:
    """Write a graph of the references that lead to ``objs`` (one object or a list).

    The search goes backwards ``max_depth`` links, at most ``too_many``
    referrers per object, skipping ids in ``extra_ignore`` and objects for
    which ``filter(o)`` is false, and stopping at modules in
    ``sys.modules``. ``highlight(o)`` colours nodes blue, ``extra_info(o)``
    adds a label line, ``extra_node_attrs(o)`` adds DOT attributes,
    ``refcounts`` shows reference counts, ``shortnames=False`` shows
    ``module.Class``. The DOT goes to ``output`` (a file object), or to
    ``filename`` (``.dot``, or an image format graphviz knows, such as
    ``.png`` or ``.svg``), or to a temporary file shown with xdot or
    rendered to PNG. Returns a ``graphviz.Source`` inside IPython notebooks
    when neither is given, else None.

    Example:

        >>> import io
        >>> target = {'leaked': True}
        >>> keeper = {'cache': target}
        >>> out = io.StringIO()
        >>> show_backrefs(target, max_depth=1, output=out,
        ...               filter=lambda o: o is keeper)
        >>> ' -> ' in out.getvalue() and 'label="cache"' in out.getvalue()
        True
    """
    return _show_graph(objs, True, max_depth, extra_ignore, filter, too_many, highlight,
                       filename, extra_info, refcounts, shortnames, output, extra_node_attrs,
                       sys._getframe())


def show_refs(
    objs: Any,
    max_depth: int = 3,
    extra_ignore: Iterable[int] = (),
    filter: Filter = None,
    too_many: int = 10,
    highlight: Filter = None,
    filename: Optional[str] = None,
    extra_info: Optional[Callable[[Any], Any]] = None,
    refcounts: bool = False,
    shortnames: bool = True,
    output: Optional[TextIO] = None,
    extra_node_attrs: Optional[Callable[[Any], Dict[str, Any]]] = None,
) -> Any:
    """Write a graph of the objects reachable from ``objs`` (one object or a list).

    Same parameters as :func:`show_backrefs`, following references forwards
    (and not stopping at modules).

    Example:

        >>> import io
        >>> out = io.StringIO()
        >>> show_refs([[1, 2]], max_depth=2, output=out)   # one start object: [1, 2]
        >>> out.getvalue().count('label=')   # the list, 1 and 2
        3
    """
    return _show_graph(objs, False, max_depth, extra_ignore, filter, too_many, highlight,
                       filename, extra_info, refcounts, shortnames, output, extra_node_attrs,
                       sys._getframe())


def show_chain(*chains: List[Any], **kw: Any) -> Any:
    """Write a graph of one or more reference chains (from the chain functions).

    ``backrefs=True`` (default) draws them as found by
    :func:`~pymemtrack.find_backref_chain`; ``backrefs=False`` follows them
    forwards. Other keywords are those of :func:`show_backrefs` except
    ``max_depth`` and ``filter``, which the chains decide.

    Example:

        >>> import io
        >>> a = {'b': {'c': ['end']}}
        >>> chain = [a, a['b'], a['b']['c']]
        >>> out = io.StringIO()
        >>> show_chain(chain, output=out)
        >>> out.getvalue().count(' -> ')
        2
    """
    backrefs = kw.pop("backrefs", True)
    for name in ("max_depth", "filter"):
        if name in kw:
            raise TypeError(f"show_chain() got an unexpected keyword argument {name!r}")
    chains_list = [list(chain) for chain in chains if chain]
    if not chains_list:
        raise ValueError("show_chain() needs at least one non-empty chain")
    in_chains = {id(o) for chain in chains_list for o in chain}

    def filter(obj: Any) -> bool:
        return id(obj) in in_chains

    max_depth = max(len(chain) for chain in chains_list) - 1
    starts = [chain[-1] if backrefs else chain[0] for chain in chains_list]
    args = {"max_depth": max_depth, "extra_ignore": (), "filter": filter, "too_many": 10,
            "highlight": None, "filename": None, "extra_info": None, "refcounts": False,
            "shortnames": True, "output": None, "extra_node_attrs": None}
    for key, value in kw.items():
        if key not in args:
            raise TypeError(f"show_chain() got an unexpected keyword argument {key!r}")
        args[key] = value
    return _show_graph(starts, bool(backrefs), args["max_depth"], args["extra_ignore"],
                       args["filter"], args["too_many"], args["highlight"], args["filename"],
                       args["extra_info"], args["refcounts"], args["shortnames"],
                       args["output"], args["extra_node_attrs"], sys._getframe(), 0)


# ---- the graph -------------------------------------------------------------------

Entry = Tuple[Any, int, Optional[List[Any]], int]


def _show_graph(objs: Any, backrefs: bool, max_depth: int, extra_ignore: Iterable[int],
                filter: Filter, too_many: int, highlight: Filter, filename: Optional[str],
                extra_info: Any, refcounts: Any, shortnames: Any, output: Optional[TextIO],
                extra_node_attrs: Any, caller: types.FrameType, min_depth: int = 1) -> Any:
    _check_depth(max_depth, min_depth)
    if not isinstance(too_many, int) or isinstance(too_many, bool):
        raise TypeError(f"too_many must be an int, not {type(too_many).__name__}")
    if too_many < 0:
        raise ValueError(f"too_many must be >= 0, not {too_many}")
    for name, fn in (("filter", filter), ("highlight", highlight), ("extra_info", extra_info),
                     ("extra_node_attrs", extra_node_attrs)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None, not {type(fn).__name__}")
    if filename is not None:
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename must be a str or None, not {type(filename).__name__}")
        filename = os.fspath(filename)
        if not isinstance(filename, str):
            raise TypeError("filename must be a str path, not bytes")
    if output is not None and not callable(getattr(output, "write", None)):
        raise TypeError(f"output must be a file object with write(), not {type(output).__name__}")
    if filename and output:
        raise ValueError("Cannot specify both output and filename.")
    filename = filename or None
    single = not isinstance(objs, (list, tuple))
    given = [objs] if single else objs
    objs = list(given)
    ignore = _ignore_ids(extra_ignore, caller, sys._getframe())
    ignore.update((id(objs), id(given)))

    image = filename is not None and not filename.endswith(".dot")
    if image:
        _check_image_target(filename)  # type: ignore[arg-type]
    f: Optional[TextIO] = None
    if output is None and filename is not None and not image:
        f = open(filename, "w", encoding="utf-8")   # OSError names the path
    try:
        cull = proper_module_ids() if backrefs else None
        gc.collect()
        entries = _core.ref_graph(objs, backrefs, max_depth, ignore,
                                  filter if filter else None, too_many, cull)
        nodes = len(entries)
        counts = _refcounts(given, objs, entries, single) if refcounts else None
        text = _dot(objs, entries, backrefs, max_depth, highlight, extra_info, counts,
                    shortnames, extra_node_attrs)
        del entries
        if output is not None:
            output.write(text)
            return None
        if f is None and filename is None and _interactive():
            import graphviz  # only importable when _interactive() said so
            return graphviz.Source(text)
        if f is None:
            fd, dot_filename = tempfile.mkstemp(prefix="pymemtrack-", suffix=".dot", text=True)
            f = os.fdopen(fd, "w", encoding="utf-8")
        else:
            dot_filename = filename  # type: ignore[assignment]
        f.write(text)
    finally:
        if f is not None:
            f.close()
    print("Graph written to %s (%d nodes)" % (dot_filename, nodes))
    _present(dot_filename, filename)
    return None


def _dot(objs: List[Any], entries: List[Entry], backrefs: bool, max_depth: int,
         highlight: Filter, extra_info: Any, counts: Optional[Dict[int, int]], shortnames: Any,
         extra_node_attrs: Any) -> str:
    """DOT text with objgraph's structure, lines and attributes."""
    lines = ["digraph ObjectGraph {", "  node[shape=box, style=filled, fillcolor=white];"]
    lines += ["  %s[fontcolor=red];" % _node_id(obj) for obj in objs]
    for obj, depth, neighbours, skipped in entries:
        nid = _node_id(obj)
        count = counts[id(obj)] if counts is not None else None
        lines.append('  %s[label="%s"%s];' % (nid, _label(obj, extra_info, count, shortnames),
                                               _node_attrs(obj, extra_node_attrs)))
        h, s, v = _gradient((0, 0, 1), (0, 0, 0.3), depth, max_depth)
        if inspect.ismodule(obj):
            h, s = 0.3, 1
        if highlight and highlight(obj):
            h, s, v = 0.6, 0.6, 0.5 + v * 0.5
        lines.append('  %s[fillcolor="%g,%g,%g"];' % (nid, h, s, v))
        if v < 0.5:
            lines.append("  %s[fontcolor=white];" % nid)
        if hasattr(getattr(obj, "__class__", None), "__del__"):
            lines.append("  %s->%s_has_a_del[color=red,style=dotted,len=0.25,weight=10];"
                         % (nid, nid))
            lines.append('  %s_has_a_del[label="__del__",shape=doublecircle,height=0.25,'
                         'color=red,fillcolor="0,.5,1",fontsize=6];' % nid)
        if neighbours is None:
            continue
        for other in neighbours:
            src, dst = (other, obj) if backrefs else (obj, other)
            lines.append("  %s -> %s%s;" % (_node_id(src), _node_id(dst),
                                            _edge_attrs(src, dst, shortnames)))
        if skipped:
            h, s, v = _gradient((0, 1, 1), (0, 1, 0.3), depth + 1, max_depth)
            if backrefs:
                label = "%d more backreferences" % skipped
                edge = "too_many_%s->%s" % (nid, nid)
            else:
                label = "%d more references" % skipped
                edge = "%s->too_many_%s" % (nid, nid)
            lines.append("  %s[color=red,style=dotted,len=0.25,weight=10];" % edge)
            lines.append('  too_many_%s[label="%s",shape=box,height=0.25,color=red,'
                         'fillcolor="%g,%g,%g",fontsize=6];' % (nid, label, h, s, v))
            lines.append("  too_many_%s[fontcolor=white];" % nid)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_id(obj: Any) -> str:
    return "o%d" % id(obj)


def _node_attrs(obj: Any, extra_node_attrs: Any) -> str:
    if extra_node_attrs is None:
        return ""
    attrs = extra_node_attrs(obj)
    return ", " + ", ".join('%s="%s"' % (name, _quote(value))
                            for name, value in sorted(attrs.items()) if value is not None)


def _label(obj: Any, extra_info: Any, refcount: Optional[int], shortnames: Any) -> str:
    first = type(obj).__name__ if shortnames else _long_typename(obj)
    if refcount is not None:
        first += " [%d]" % refcount
    parts = [first, _safe_repr(obj)]
    if extra_info:
        parts.append(str(extra_info(obj)))
    return _quote("\n".join(parts))


def _quote(text: Any) -> str:
    """Escape for a DOT double-quoted string, as objgraph does."""
    text = str(text) if not isinstance(text, str) else text
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\0", "\\\\0")):
        text = text.replace(raw, escaped)
    return text


def _long_typename(obj: Any) -> str:
    tp = type(obj)
    module = getattr(tp, "__module__", None)
    return "%s.%s" % (module, tp.__name__) if module else tp.__name__


def _safe_repr(obj: Any) -> str:
    try:
        return _short_repr(obj)
    except Exception:
        return "(unrepresentable)"


def _name_or_repr(value: Any) -> str:
    try:
        name = value.__name__
    except AttributeError:
        return repr(value)[:40]
    return name if isinstance(name, str) else repr(value)[:40]


def _short_repr(obj: Any) -> str:
    """objgraph's node text: names for classes, modules and functions, sizes for containers."""
    tp = type(obj)
    if issubclass(tp, (type, types.ModuleType, types.BuiltinFunctionType)):
        return _name_or_repr(obj)
    if issubclass(tp, types.MethodType):
        name = _name_or_repr(obj.__func__)
        return name + " (bound)" if obj.__self__ else name
    if issubclass(tp, types.FunctionType) and obj.__name__ == "<lambda>":
        code = obj.__code__
        return "lambda: %s:%s" % (os.path.basename(code.co_filename), code.co_firstlineno)
    if issubclass(tp, types.FrameType):
        return "%s:%s" % (obj.f_code.co_filename, obj.f_lineno)
    if issubclass(tp, (tuple, list, dict, set)):
        return "%d items" % len(obj)
    return repr(obj)[:40]


def _gradient(start: Tuple[float, float, float], end: Tuple[float, float, float],
              depth: int, max_depth: int) -> Tuple[float, float, float]:
    if max_depth == 0:
        return start
    frac = depth / max_depth
    return tuple(a * (1 - frac) + b * frac for a, b in zip(start, end))  # type: ignore[return-value]


_IDENTIFIER = re.compile(r"[a-zA-Z_][a-zA-Z_0-9]*$")


def _edge_attrs(src: Any, dst: Any, shortnames: Any) -> str:
    """objgraph's edge label: __dict__, frame and method slots, function attributes, dict keys."""
    tsrc = type(src)
    if issubclass(type(dst), dict) and dst is getattr(src, "__dict__", None):
        return ' [label="__dict__",weight=10]'
    if issubclass(tsrc, types.FrameType):
        if dst is _f_locals(src):
            return ' [label="f_locals",weight=10]'
        if dst is src.f_globals:
            return ' [label="f_globals",weight=10]'
    if issubclass(tsrc, types.MethodType):
        if dst is src.__self__:
            return ' [label="__self__",weight=10]'
        if dst is src.__func__:
            return ' [label="__func__",weight=10]'
    if issubclass(tsrc, types.FunctionType):
        for name in dir(src):
            if dst is getattr(src, name):
                return ' [label="%s",weight=10]' % _quote(name)
    if issubclass(tsrc, dict):
        for key, value in src.items():
            if value is dst:
                if isinstance(key, str) and _IDENTIFIER.match(key):
                    return ' [label="%s",weight=2]' % _quote(key)
                kind = type(key).__name__ if shortnames else _long_typename(key)
                return ' [label="%s"]' % _quote(kind + "\n" + _safe_repr(key))
    return ""


def _f_locals(frame: types.FrameType) -> Any:
    """What frame.f_locals is now, without making a function frame's snapshot dict
    (which would add objects to the heap that later searches then find)."""
    if frame.f_code.co_flags & 0x0001:          # CO_OPTIMIZED: a function's frame
        return _core.frame_snapshot(frame)
    return frame.f_locals


def _refcounts(given: Any, objs: List[Any], entries: List[Entry],
               single: bool) -> Dict[int, int]:
    """Each node's reference count less the references our own code holds. The
    list of start objects passed in does not count either, as in objgraph."""
    held: Dict[int, int] = {}
    for item in given:
        # in given and in our copy objs; a single object also in show_*'s parameter
        held[id(item)] = held.get(id(item), 0) + (3 if single else 2)
    for entry in entries:
        held[id(entry[0])] = held.get(id(entry[0]), 0) + 1
        for item in entry[2] or ():
            held[id(item)] = held.get(id(item), 0) + 1
    del item
    counts = {}
    for entry in entries:
        obj = entry[0]
        # obj and the call hold what _calibrate()'s probe local and call do
        counts[id(obj)] = _raw_refcount(obj) - held[id(obj)] - _CALL_REFS
    return counts


def _raw_refcount(obj: Any) -> int:
    return sys.getrefcount(obj)


def _calibrate() -> int:
    probe = object()
    return _raw_refcount(probe)   # probe's local plus what the call itself holds


_CALL_REFS = _calibrate()


# ---- output ------------------------------------------------------------------------


def _interactive() -> bool:
    """Inside an IPython notebook with the graphviz package: show the graph inline."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()   # type: ignore[attr-defined]
        import graphviz  # noqa: F401
    except Exception:
        return False
    return ip is not None and "TerminalInteractiveShell" not in type(ip).__name__


def _check_image_target(filename: str) -> None:
    """Raise the OSError that writing filename would raise, before any work."""
    directory = os.path.dirname(os.path.abspath(filename))
    if os.path.isdir(filename):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), filename)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), filename)
    writable = os.access(filename, os.W_OK) if os.path.exists(filename) \
        else os.access(directory, os.W_OK)
    if not writable:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), filename)
    if not os.path.splitext(filename)[1][1:]:
        raise ValueError(f"filename {filename!r} needs an extension naming the format: "
                         ".dot, or an image format graphviz knows such as .png or .svg")


def _present(dot_filename: str, filename: Optional[str]) -> None:
    """Render or show the .dot file as objgraph does; keep it when dot is missing."""
    if filename == dot_filename:
        return
    if not filename and shutil.which("xdot"):
        print("Spawning graph viewer (xdot)")
        subprocess.Popen(["xdot", dot_filename], close_fds=True)
        return
    dot = shutil.which("dot")
    if dot is None:
        hint = ("install graphviz (Debian/Ubuntu: apt-get install graphviz) to render it, "
                "or open it with any DOT viewer")
        if filename:
            print(f"Image renderer (dot) not found, so {filename} was not made: the graph "
                  f"is kept in {dot_filename}; {hint}")
        else:
            print("Graph viewer (xdot) and image renderer (dot) not found: the graph is "
                  f"kept in {dot_filename}; {hint}")
        return
    if not filename:
        print("Graph viewer (xdot) not found, generating a png instead")
        filename = dot_filename[:-4] + ".png"
    fmt = os.path.splitext(filename)[1][1:]
    cmd = [dot, "-T" + fmt, "-o" + filename, dot_filename]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        print('dot failed (exit code %d) while executing "%s"%s'
              % (proc.returncode, " ".join(cmd),
                 ": " + proc.stderr.strip() if proc.stderr.strip() else ""))
    else:
        print("Image generated as %s" % filename)

