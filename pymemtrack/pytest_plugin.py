"""pytest plugin: fail a test that leaks, and say what leaked and who holds it.

Installed with pymemtrack through the ``pytest11`` entry point; disable it
with ``-p no:pymemtrack``. A checked test that passed has its body run again
with the same fixture values, under the rule of :mod:`pymemtrack.leakcheck`
(warm-ups, every measured run must grow, confirmation by scaling).

What is checked:

- ``@pytest.mark.no_leaks(warmup=3, runs=4, scale=4, ignore=(...), filter=fn)``
  on a test, a class or a module (``pytestmark``);
- with ``--memtrack`` (ini ``memtrack = true``), every collected test function;
- ``@pytest.mark.leaks_expected(reason=...)``: checked, reported as xfail
  when it leaks, and a failure when it does not (so known leaks stay known);
- ``@pytest.mark.no_leak_check(reason=...)``: never checked.

The nearest marker wins (function, then class, then module). Only test
functions are checked (not doctests or other items); a test that uses the
``memtrack`` fixture checks itself and is not re-run.

A test class's ``teardown_method`` and ``setup_method`` run again around each
re-run (as unittest's ``setUp``/``tearDown`` do when a unittest test re-runs),
since they set up the instance's state per test.

Not counted as leaks (it is released with the test):

- what only the test's own state holds: the test instance (``self``) and the
  values of function-scoped fixtures and parameters, re-used by every re-run;
- objects the test stores directly in a list, dict, set or deque it got from
  a fixture of a broader scope (and what only they hold);
- pytest's own records of the re-runs: captured log records (``caplog``),
  recorded warnings (``recwarn`` and pytest's summary) and ``monkeypatch``
  changes are restored to their state before the test after each re-run;
- whatever :func:`pymemtrack.leakcheck.clear_caches` clears.

A fixture value that is also referenced from elsewhere (a module global) is
shared, not the test's own, so growth below it counts. To catch growth in a
long-lived object (an app that keeps something per request), give its
fixture a module or session scope, or use ``memtrack.check``.

A re-run that fails (a test that cannot run twice, e.g. ``mkdir`` in
``tmp_path``) stops the check: a failure for a marked test, a warning under
``--memtrack``.

Example (a test file)::

    import pytest

    _sessions = []

    @pytest.mark.no_leaks
    def test_open_session():
        _sessions.append(object())    # fails: 'object' grew in every run
"""

from __future__ import annotations

import collections
import functools
import gc
import sys
import types
import unittest
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from . import leakcheck

__all__ = ["MemtrackFixture", "memtrack"]

_MARKERS = ("no_leaks", "leaks_expected", "no_leak_check")
_RULE_KWARGS = ("warmup", "runs", "scale", "ignore", "filter")
_CONTAINERS = (list, dict, set, collections.deque)


@dataclass(frozen=True)
class _Settings:
    warmup: int = leakcheck.DEFAULT_WARMUP
    runs: int = leakcheck.DEFAULT_RUNS
    scale: int = leakcheck.DEFAULT_SCALE
    ignore: Tuple[str, ...] = ()
    filter: Optional[Callable[[str], bool]] = None


@dataclass(frozen=True)
class _Plan:
    settings: _Settings
    explicit: bool               # asked for by a marker (vs --memtrack)
    expected: Optional[str]      # leaks_expected's reason


@dataclass
class _Stats:
    checked: int = 0
    leaking: List[str] = field(default_factory=list)
    expected: int = 0
    not_repeatable: List[str] = field(default_factory=list)
    opted_out: int = 0
    not_functions: int = 0
    self_checking: int = 0


_PLAN_KEY = pytest.StashKey[_Plan]()
_STATS_KEY = pytest.StashKey[_Stats]()
_SETTINGS_KEY = pytest.StashKey[_Settings]()
_ON_KEY = pytest.StashKey[bool]()


class _RerunFailed(Exception):
    """The test body failed when run again with the same fixture values."""


# --- options, markers, configuration -----------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    """Options in one group, each with an ini twin (the command line wins)."""
    group = parser.getgroup("pymemtrack", "leak checks (pymemtrack)")
    group.addoption("--memtrack", action="store_true", default=None,
                    help="check every collected test for leaks (ini: memtrack).")
    parser.addini("memtrack", type="bool", default=False,
                  help="check every collected test for leaks.")
    for name, default, text in (
        ("warmup", leakcheck.DEFAULT_WARMUP, "warm-up calls before measuring"),
        ("runs", leakcheck.DEFAULT_RUNS, "measured runs; a type must grow in every one"),
        ("scale", leakcheck.DEFAULT_SCALE, "calls per confirmation batch"),
    ):
        group.addoption(f"--memtrack-{name}", type=int, default=None, metavar="N",
                        help=f"{text} (default {default}; ini: memtrack_{name}).")
        parser.addini(f"memtrack_{name}", default=str(default), help=f"{text}.")
    group.addoption("--memtrack-rounds", default=None, metavar="W:N",
                    help="warm-ups and measured runs in one, like regrtest -R "
                         "(ini: memtrack_rounds).")
    parser.addini("memtrack_rounds", default="", help="warm-ups:runs, e.g. 3:4.")
    group.addoption("--memtrack-ignore", action="append", default=None, metavar="PATTERN",
                    help="type name (fnmatch pattern, short or module.name) never counted; "
                         "repeatable (ini: memtrack_ignore, one per line).")
    parser.addini("memtrack_ignore", type="linelist", default=[],
                  help="type names (fnmatch patterns) never counted.")


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and read the settings once."""
    config.addinivalue_line(
        "markers",
        "no_leaks(warmup=3, runs=4, scale=4, ignore=(), filter=None): re-run the test body "
        "and fail if it leaks objects (pymemtrack).")
    config.addinivalue_line(
        "markers",
        "leaks_expected(reason, **no_leaks_options): the test leaks, known and documented; "
        "xfail when it leaks, a failure when it does not (pymemtrack).")
    config.addinivalue_line(
        "markers", "no_leak_check(reason): never check this test for leaks (pymemtrack).")
    config.stash[_SETTINGS_KEY] = _settings_from_config(config)
    config.stash[_STATS_KEY] = _Stats()
    on = config.getoption("memtrack")
    config.stash[_ON_KEY] = bool(config.getini("memtrack") if on is None else on)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Decide which items are checked; only then does the runner plugin load."""
    defaults = config.stash[_SETTINGS_KEY]
    on = config.stash[_ON_KEY]
    stats = config.stash[_STATS_KEY]
    planned = False
    for item in items:
        plan = _plan_for(item, defaults, on, stats)
        if plan is not None:
            item.stash[_PLAN_KEY] = plan
            planned = True
    if planned and not config.pluginmanager.has_plugin("pymemtrack-runner"):
        config.pluginmanager.register(_Runner(), "pymemtrack-runner")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One short section: how many tests were checked and what came of it."""
    stats = config.stash.get(_STATS_KEY, None)
    active = stats is not None and (stats.checked or stats.not_repeatable or stats.opted_out)
    if not (active or config.stash.get(_ON_KEY, False)):
        return
    tr = terminalreporter
    tr.section("pymemtrack leak check")
    tr.write_line(
        f"{stats.checked} checked, {len(stats.leaking)} leaking, {stats.expected} expected "
        f"leaks, {len(stats.not_repeatable)} not repeatable, {stats.opted_out} opted out, "
        f"{stats.self_checking} using the memtrack fixture, {stats.not_functions} not "
        f"test functions")
    for nodeid in stats.leaking:
        tr.write_line(f"LEAK {nodeid}")
    for line in stats.not_repeatable:
        tr.write_line(f"NOT REPEATABLE {line}")


# --- the fixture -------------------------------------------------------------------------

class MemtrackFixture(leakcheck.LeakChecker):
    """The ``memtrack`` fixture: explicit leak checks inside a test.

    ``memtrack.check(fn, *args)`` applies the rule to ``fn(*args)`` and fails
    the test with the report if it leaks; ``with memtrack.no_growth(): ...``
    fails if the block leaves new objects behind. Settings come from the
    test's ``no_leaks`` marker, then the command line and ini file.
    """


@pytest.fixture
def memtrack(request: pytest.FixtureRequest) -> MemtrackFixture:
    """A :class:`MemtrackFixture` configured like the test's leak check."""
    settings = request.config.stash[_SETTINGS_KEY]
    marker = request.node.get_closest_marker("no_leaks")
    if marker is not None:
        settings = _settings_from_marker(marker, settings, request.node.nodeid)
    return MemtrackFixture(settings.warmup, settings.runs, settings.scale, settings.ignore,
                           settings.filter)


# --- the runner: loaded only when some collected test is checked ------------------------

class _Runner:
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        plan = item.stash.get(_PLAN_KEY, None)
        if plan is None:
            return (yield)
        books = _Bookkeeping(item)
        result = yield          # raises when the test failed: then nothing is checked
        _check(item, plan, books)
        return result


def _check(item: pytest.Item, plan: _Plan, books: "_Bookkeeping") -> None:
    stats = item.config.stash[_STATS_KEY]
    settings = plan.settings
    books.after_original()
    failure = None
    try:
        report = leakcheck.run_rule(
            _rerun_function(item), name=item.nodeid, warmup=settings.warmup,
            runs=settings.runs, scale=settings.scale,
            keep=leakcheck.type_filter(settings.ignore, settings.filter),
            between=books.reset, owned=lambda: _test_state(item))
    except _RerunFailed as exc:
        failure = str(exc)
    finally:
        books.restore_original()
    if failure is not None:
        message = (f"{item.nodeid}: not checked for leaks: the body failed when run again with "
                   f"the same fixture values ({failure}). Make it repeatable, or mark it "
                   f"@pytest.mark.no_leak_check(reason=...).")
        stats.not_repeatable.append(f"{item.nodeid}: {failure}")
        if plan.explicit:
            pytest.fail(message, pytrace=False)
        warnings.warn(pytest.PytestWarning(message), stacklevel=1)
        return
    stats.checked += 1
    if plan.expected is not None:
        if report.ok:
            pytest.fail(f"{item.nodeid}: marked leaks_expected(reason={plan.expected!r}) but "
                        f"no leak was found in {report.calls} calls: remove the marker.",
                        pytrace=False)
        stats.expected += 1
        leaked = ", ".join(leak.display_name for leak in report.leaks)
        pytest.xfail(f"{plan.expected} (leaks: {leaked})")
    if not report.ok:
        stats.leaking.append(item.nodeid)
        pytest.fail(report.format(), pytrace=False)


def _rerun_function(item: pytest.Item) -> Callable[[], None]:
    """One more run of the test body with the same fixture values."""
    if isinstance(item, _unittest_function_type()):
        testcase = item.instance

        def run_testcase() -> None:
            result = unittest.TestResult()
            testcase.run(result)
            problems = result.errors + result.failures + result.skipped
            if problems or result.unexpectedSuccesses:
                text = str(problems[0][1]).strip().splitlines()[-1] if problems else \
                    "unexpected success"
                raise _RerunFailed(text)

        return run_testcase

    if _plain_function_call(item):
        # What pytest's own pytest_pyfunc_call does, without the hook machinery
        # (hook-call recorders such as pytester's would grow with every call).
        function = item.obj
        kwargs = {name: item.funcargs[name] for name in item._fixtureinfo.argnames}
        run = lambda: function(**kwargs)        # noqa: E731
    else:
        run = item.runtest      # through the plugins that run async tests etc.

    redo = _xunit_method_fixtures(item)

    def run_function() -> None:
        try:
            for step in redo:
                step()
            run()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:   # pytest's skip/fail are BaseExceptions
            raise _RerunFailed(_short_exception(exc)) from None

    return run_function


def _xunit_method_fixtures(item: pytest.Item) -> List[Callable[[], None]]:
    """teardown_method then setup_method of a test class: each re-run starts afresh.

    Like unittest's setUp/tearDown (a unittest test re-runs whole), these set
    up the instance's state per test, so a re-run repeats them.
    """
    instance = getattr(item, "instance", None)
    function = getattr(item, "function", None)
    if instance is None or isinstance(instance, unittest.TestCase):
        return []
    steps = []
    for name in ("teardown_method", "setup_method"):
        method = getattr(instance, name, None)
        if callable(method) and not hasattr(method, "_fixture_function_marker") and \
                not hasattr(method, "_pytestfixturefunction"):
            steps.append(functools.partial(_call_with_optional_argument, method, function))
    return steps


def _call_with_optional_argument(method: Callable[..., Any], arg: Any) -> None:
    """What pytest does: pass the test function only when the method takes it."""
    code = getattr(getattr(method, "__func__", method), "__code__", None)
    if code is not None and code.co_argcount > 1:
        method(arg)
    else:
        method()


def _plain_function_call(item: pytest.Item) -> bool:
    """True when only pytest itself runs this test function (no async plugin etc.)."""
    if type(item).runtest is not pytest.Function.runtest:
        return False
    builtin = sys.modules.get("_pytest.python")
    impls = item.ihook.pytest_pyfunc_call.get_hookimpls()
    return all(impl.plugin is builtin for impl in impls)


class _Bookkeeping:
    """pytest's records that each re-run would grow, put back after every run.

    The log records of pytest's capture handlers, the active warnings
    recorder's list and ``monkeypatch``'s undo stacks (undoing the test's own
    patches) are cut back to their length before the test, and the warning
    registries forget what the re-run showed, so each re-run
    starts where the test started; at the end the log and warning records of
    the original run are put back (the test's monkeypatching stays undone).
    """

    def __init__(self, item: pytest.Item) -> None:
        self.lists = [(lst, len(lst)) for lst in self._record_lists()]
        self.patches = [(mp, len(mp._setattr), len(mp._setitem))
                        for mp in getattr(item, "funcargs", {}).values()
                        if isinstance(mp, pytest.MonkeyPatch)]
        self.saved: List[List[Any]] = []
        self.once = set(getattr(warnings, "onceregistry", {}))

    @staticmethod
    def _record_lists() -> List[List[Any]]:
        import logging

        from _pytest.logging import LogCaptureHandler as capture
        lists = []
        for handler in logging.getLogger().handlers:
            if isinstance(handler, capture) and isinstance(handler.records, list):
                lists.append(handler.records)
        recorder = getattr(getattr(warnings, "_showwarnmsg_impl", None), "__self__", None)
        if isinstance(recorder, list):
            lists.append(recorder)
        return lists

    def after_original(self) -> None:
        self.saved = [lst[n:] for lst, n in self.lists]
        self.reset()

    def reset(self) -> None:
        for lst, n in self.lists:
            del lst[n:]
        # Forget which warnings were shown, so each re-run warns like the first.
        once = getattr(warnings, "onceregistry", {})
        for key in [k for k in once if k not in self.once]:
            del once[key]
        mutated = getattr(warnings, "_filters_mutated", None)
        if mutated is not None:
            mutated()      # invalidates every module's __warningregistry__
        for mp, n_attr, n_item in self.patches:
            if len(mp._setattr) > n_attr or len(mp._setitem) > n_item:
                tail = pytest.MonkeyPatch()
                tail._setattr = mp._setattr[n_attr:]
                tail._setitem = mp._setitem[n_item:]
                del mp._setattr[n_attr:], mp._setitem[n_item:]
                tail.undo()

    def restore_original(self) -> None:
        self.reset()
        for (lst, _), saved in zip(self.lists, self.saved):
            lst.extend(saved)
        self.saved = []


def _test_state(item: pytest.Item) -> Tuple[List[Any], List[Any]]:
    """What belongs to this test alone, for :func:`leakcheck.run_rule`'s ``owned``.

    Owners (everything only they hold is released with the test): the test
    instance and the values of function-scoped fixtures and parameters.
    Containers (only their direct contents, and what only those hold): lists,
    dicts, sets and deques from fixtures of a broader scope. A fixture value
    counts only when nothing but pytest's fixture bookkeeping refers to it: a
    fixture that hands out a module's global gives the test shared state.
    """
    funcargs = getattr(item, "funcargs", {})
    instance = getattr(item, "instance", None)
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    values: List[Any] = []
    function_scoped: List[bool] = []
    for name, value in funcargs.items():
        if type(value).__module__.partition(".")[0] in ("_pytest", "pytest", "pluggy"):
            continue      # request, monkeypatch, caplog...: pytest's, not the test's
        fixturedefs = defs.get(name) or ()
        scope = getattr(fixturedefs[-1], "scope", "function") if fixturedefs else "function"
        if scope == "function" or isinstance(value, _CONTAINERS):
            values.append(value)
            function_scoped.append(scope == "function")
    allowed = {id(funcargs), id(instance), id(values)}
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        allowed.add(id(callspec.params))
    for fixturedefs in defs.values():
        for fixturedef in fixturedefs:
            allowed.add(id(getattr(fixturedef, "cached_result", None)))
    argnames = set(getattr(item, "fixturenames", ()))
    owners: List[Any] = [instance] if instance is not None else []
    containers: List[Any] = []
    for i in range(len(values)):     # (zip's tuple would be one more referrer)
        referrers = gc.get_referrers(values[i])      # once per fixture value, few per test
        own = all(_bookkeeping_reference(r, allowed, argnames) for r in referrers)
        referrers.clear()
        if own:
            (owners if function_scoped[i] else containers).append(values[i])
    values.clear()
    return owners, containers


def _bookkeeping_reference(holder: Any, allowed: set, argnames: set) -> bool:
    """A reference from pytest's fixture machinery, a fixture's frame or the test's self."""
    if id(holder) in allowed or isinstance(holder, (types.FrameType, types.GeneratorType)):
        return True
    # the keyword arguments of a call of the test function (pytest's, or our re-run's)
    return isinstance(holder, dict) and all(isinstance(k, str) and k in argnames for k in holder)


# --- settings ----------------------------------------------------------------------------

def _plan_for(item: pytest.Item, defaults: _Settings, on: bool, stats: _Stats) -> Optional[_Plan]:
    marker = next((m for m in item.iter_markers() if m.name in _MARKERS), None)
    if marker is not None and marker.name == "no_leak_check":
        _reason(marker, item.nodeid)
        stats.opted_out += 1
        return None
    if marker is None and not on:
        return None
    if not isinstance(item, pytest.Function):
        stats.not_functions += 1
        return None
    if "memtrack" in getattr(item, "fixturenames", ()):
        stats.self_checking += 1
        return None
    if marker is None:
        return _Plan(defaults, explicit=False, expected=None)
    settings = _settings_from_marker(marker, defaults, item.nodeid)
    expected = _reason(marker, item.nodeid) if marker.name == "leaks_expected" else None
    return _Plan(settings, explicit=True, expected=expected)


def _reason(marker: Any, nodeid: str) -> str:
    reason = marker.kwargs.get("reason", marker.args[0] if marker.args else None)
    if not isinstance(reason, str) or not reason.strip():
        raise pytest.UsageError(f"{nodeid}: @pytest.mark.{marker.name} needs reason='why'")
    return reason


def _settings_from_marker(marker: Any, defaults: _Settings, nodeid: str) -> _Settings:
    kwargs = dict(marker.kwargs)
    kwargs.pop("reason", None)
    allowed_args = 1 if marker.name == "leaks_expected" and "reason" not in marker.kwargs else 0
    unknown = sorted(set(kwargs) - set(_RULE_KWARGS))
    if unknown or len(marker.args) > allowed_args:
        raise pytest.UsageError(
            f"{nodeid}: @pytest.mark.{marker.name} takes only keyword arguments "
            f"{', '.join(_RULE_KWARGS)}" + (f" (got {', '.join(unknown)})" if unknown else ""))
    if "ignore" in kwargs:
        ignore = kwargs["ignore"]
        kwargs["ignore"] = (ignore,) if isinstance(ignore, str) else tuple(ignore)
        kwargs["ignore"] = defaults.ignore + kwargs["ignore"]
    settings = _Settings(**{**defaults.__dict__, **kwargs})
    try:
        leakcheck._check_settings(settings.warmup, settings.runs, settings.scale)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{nodeid}: @pytest.mark.{marker.name}: {exc}") from None
    if settings.filter is not None and not callable(settings.filter):
        raise pytest.UsageError(f"{nodeid}: @pytest.mark.{marker.name}: filter must be callable")
    return settings


def _settings_from_config(config: pytest.Config) -> _Settings:
    def pick(name: str) -> str:
        value = config.getoption(f"memtrack_{name}")
        return str(value) if value is not None else str(config.getini(f"memtrack_{name}"))

    values: Dict[str, int] = {}
    for name in ("warmup", "runs", "scale"):
        text = pick(name)
        try:
            values[name] = int(text)
        except ValueError:
            raise pytest.UsageError(f"memtrack_{name} must be an integer, not {text!r}") from None
    rounds = config.getoption("memtrack_rounds")
    if rounds is None:
        rounds = config.getini("memtrack_rounds")
    if rounds:
        warmup, sep, runs = str(rounds).partition(":")
        if not sep or not warmup.strip().isdigit() or not runs.strip().isdigit():
            raise pytest.UsageError(f"--memtrack-rounds takes W:N (e.g. 3:4), not {rounds!r}")
        if config.getoption("memtrack_warmup") is None:
            values["warmup"] = int(warmup)
        if config.getoption("memtrack_runs") is None:
            values["runs"] = int(runs)
    try:
        leakcheck._check_settings(values["warmup"], values["runs"], values["scale"])
    except ValueError as exc:
        raise pytest.UsageError(f"pymemtrack: {exc}") from None
    ignore = config.getoption("memtrack_ignore")
    if ignore is None:
        ignore = config.getini("memtrack_ignore")
    return _Settings(values["warmup"], values["runs"], values["scale"], tuple(ignore))


def _unittest_function_type() -> type:
    from _pytest.unittest import TestCaseFunction
    return TestCaseFunction


def _short_exception(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    return f"{type(exc).__name__}: {first[:120]}{where}"
