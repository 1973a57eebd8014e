"""The pytest plugin, through pytester: what fails, what passes, and what the report says."""

import textwrap

import pytest

pytest_plugins = ["pytester"]


def run(pytester, source, *args):
    pytester.makepyfile(test_it=textwrap.dedent(source))
    # (hypothesis, a test dependency, would be re-imported by every in-process run)
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


def counted_calls(pytester):
    path = pytester.path / "calls.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


COUNTER = """
import pathlib
def count_call():
    with open(pathlib.Path(__file__).parent / "calls.txt", "a") as f:
        f.write("x\\n")
"""


def test_leaking_test_fails_and_names_the_type_and_holder(pytester):
    result = run(pytester, """
        import pytest
        REGISTRY = []
        class Session:
            pass
        @pytest.mark.no_leaks
        def test_open():
            REGISTRY.append(Session())
    """)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "test_it.py::test_open leaks 1 type(s): test_it.Session" in out
    assert "per run: +1 +1 +1 +1" in out
    assert "x4 calls: +4 +4 (>= 2)" in out
    assert "sample test_it.Session at 0x" in out
    assert "held by: test_it.REGISTRY [" in out or "held by: test_it.REGISTRY: list[" in out
    assert "LEAK test_it.py::test_open" in out


def test_report_uses_why_alive_when_it_exists(pytester, monkeypatch):
    import pymemtrack

    monkeypatch.setattr(pymemtrack, "why_alive", lambda obj: "PATH-FROM-WHY-ALIVE", raising=False)
    result = run(pytester, """
        import pytest
        KEPT = []
        @pytest.mark.no_leaks
        def test_open():
            KEPT.append([])
    """)
    result.assert_outcomes(failed=1)
    assert "held by: PATH-FROM-WHY-ALIVE" in result.stdout.str()


def test_caches_imports_logging_warnings_and_re_pass(pytester):
    result = run(pytester, """
        import functools, itertools, logging, re, warnings
        import pytest
        pytestmark = pytest.mark.no_leaks

        @functools.lru_cache(maxsize=64)
        def cached(key):
            return [key]
        counter = itertools.count()

        def test_fills_a_bounded_cache():
            cached(next(counter))          # a new key every call

        def test_lazy_import():
            import xml.dom.minidom
            xml.dom.minidom.parseString("<a><b/></a>")

        def test_logs():
            logging.getLogger("app").warning("request %d", next(counter))

        def test_logs_with_caplog(caplog):
            logging.getLogger("app").error("boom")
            assert len(caplog.records) == 1

        def test_warns():
            warnings.warn("careful", UserWarning)

        def test_warns_with_recwarn(recwarn):
            warnings.warn("careful", DeprecationWarning)
            assert len(recwarn) == 1

        def test_pytest_warns():
            with pytest.warns(UserWarning):
                warnings.warn("expected", UserWarning)

        def test_uses_re():
            assert re.match(r"a+b%d" % next(counter), "aab0") is None

        def test_prints(capsys):
            print("hello")
            assert capsys.readouterr().out == "hello\\n"

        def test_monkeypatch(monkeypatch):
            monkeypatch.setattr(logging, "NEW_ATTRIBUTE", object(), raising=False)
            monkeypatch.delattr(logging, "NEW_ATTRIBUTE")
            monkeypatch.setenv("PYMEMTRACK_TEST", "1")
    """)
    result.assert_outcomes(passed=10)
    assert "10 checked, 0 leaking" in result.stdout.str()
    # the original run's warnings are still reported, once each
    assert result.stdout.str().count("UserWarning: careful") == 1


def test_fixtures_of_module_and_session_scope_are_never_counted(pytester):
    pytester.makeconftest("""
        import pytest
        class Big:
            pass
        @pytest.fixture(scope="session")
        def session_data():
            return [Big() for _ in range(1000)]
    """)
    result = run(pytester, """
        import pytest
        class Conn:
            pass
        @pytest.fixture(scope="module")
        def pool():
            return {"conns": [Conn() for _ in range(500)]}
        @pytest.fixture(scope="module")
        def seen():
            return []
        @pytest.mark.no_leaks
        def test_first_user_sets_them_up(pool, session_data, seen):
            seen.append(Conn())            # the test's own bookkeeping
            assert len(pool["conns"]) == 500
    """)
    result.assert_outcomes(passed=1)


def test_a_function_scoped_list_the_test_appends_to_is_not_a_leak(pytester):
    result = run(pytester, """
        import pytest
        class Event:
            def __init__(self):
                self.payload = {"data": [1, 2]}
        @pytest.fixture
        def events():
            return []
        @pytest.mark.no_leaks
        def test_records(events):
            events.append(Event())
    """)
    result.assert_outcomes(passed=1)


def test_a_fixture_that_hands_out_a_global_list_still_leaks(pytester):
    result = run(pytester, """
        import pytest
        GLOBAL = []
        class Event:
            pass
        @pytest.fixture
        def events():
            return GLOBAL                    # not the test's own: shared with the module
        @pytest.mark.no_leaks
        def test_records(events):
            events.append(Event())
    """)
    result.assert_outcomes(failed=1)
    assert "leaks 1 type(s): test_it.Event" in result.stdout.str()


APP = """
import pytest
class Handler:
    pass
class App:
    def __init__(self):
        self.handlers = []
    def request(self):
        self.handlers.append(Handler())    # the app grows per request
@pytest.fixture(scope=SCOPE)
def app():
    return App()
@pytest.mark.no_leaks
def test_request(app):
    app.request()
"""


def test_growth_below_a_long_lived_fixture_object_is_a_leak(pytester):
    result = run(pytester, APP.replace("SCOPE", '"module"'))
    result.assert_outcomes(failed=1)
    assert "leaks 1 type(s): test_it.Handler" in result.stdout.str()


def test_growth_below_a_function_scoped_fixture_object_is_released_with_the_test(pytester):
    result = run(pytester, APP.replace("SCOPE", '"function"'))
    result.assert_outcomes(passed=1)


def test_growth_in_state_set_up_by_setup_method_is_the_tests_own(pytester):
    result = run(pytester, """
        import pytest
        class Graph:
            def __init__(self):
                self.edges = []
            def add_edge(self, u, v, **attrs):
                self.edges.append((u, v, attrs))
        @pytest.mark.no_leaks
        class TestGraph:
            def setup_method(self):
                self.graph = Graph()
            def test_add(self):
                self.graph.add_edge(1, 2, foo=[])
    """)
    result.assert_outcomes(passed=1)


def test_class_markers_methods_and_self_state(pytester):
    result = run(pytester, """
        import pytest
        KEPT = []
        @pytest.mark.no_leaks(runs=3)
        class TestThings:
            def setup_method(self):
                self.seen = []
            def test_own_state(self):
                self.seen.append(object())
            def test_leaks(self):
                KEPT.append({"a": [1]})
    """)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "test_leaks leaks" in out and "per run: +1 +1 +1 " in out


def test_setup_method_runs_again_around_each_rerun(pytester):
    result = run(pytester, COUNTER + """
import pytest
@pytest.mark.no_leaks(warmup=1, runs=2)
class TestGraph:
    def setup_method(self, method):
        self.nodes = {1, 2}
    def teardown_method(self):
        count_call()
    def test_remove(self):
        self.nodes.remove(1)          # would fail on a second run without setup_method
""")
    result.assert_outcomes(passed=1)
    assert counted_calls(pytester) == 1 + 1 + 2        # teardown_method per run


def test_parametrized_and_unittest_tests(pytester):
    result = run(pytester, """
        import unittest
        import pytest
        KEPT = []
        pytestmark = pytest.mark.no_leaks
        @pytest.mark.parametrize("n", [1, 2])
        def test_param(n):
            KEPT.extend([[]] * 0 + [[] for _ in range(n)])
        class Case(unittest.TestCase):
            def setUp(self):
                self.buf = []
            def test_clean(self):
                self.buf.append(object())
            def test_leaky(self):
                KEPT.append(set([1]))
    """)
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    assert "test_param[2] leaks 1 type(s): list" in out
    assert "per run: +2 +2 +2 +2" in out
    assert "x4 calls: +8 +8 (>= 4)" in out
    assert "Case::test_leaky leaks 1 type(s): set" in out


def test_leaks_expected_xfails_a_leak_and_errors_on_a_clean_test(pytester):
    result = run(pytester, """
        import pytest
        KEPT = []
        @pytest.mark.leaks_expected(reason="issue 42: the cache is never emptied")
        def test_known_leak():
            KEPT.append([])
        @pytest.mark.leaks_expected(reason="was fixed")
        def test_clean():
            pass
    """, "-rxX")
    result.assert_outcomes(xfailed=1, failed=1)
    out = result.stdout.str()
    assert "issue 42: the cache is never emptied (leaks: list)" in out
    assert "marked leaks_expected(reason='was fixed') but no leak was found" in out


def test_memtrack_option_checks_every_test_and_opt_outs_work(pytester):
    result = run(pytester, """
        import pytest
        KEPT = []
        def test_plain_leak():
            KEPT.append([])
        @pytest.mark.no_leak_check(reason="measured elsewhere")
        def test_opted_out():
            KEPT.append([])
        def test_clean():
            pass
    """, "--memtrack")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "2 checked, 1 leaking" in out and "1 opted out" in out
    assert "test_plain_leak leaks 1 type(s): list" in out


def test_unmarked_tests_run_once_without_memtrack(pytester):
    result = run(pytester, COUNTER + """
def test_once():
    count_call()
""")
    result.assert_outcomes(passed=1)
    assert counted_calls(pytester) == 1
    assert "pymemtrack leak check" not in result.stdout.str()


def test_checked_clean_test_runs_once_plus_warmups_and_runs(pytester):
    result = run(pytester, COUNTER + """
def test_clean():
    count_call()
""", "--memtrack-rounds", "2:3", "--memtrack")
    result.assert_outcomes(passed=1)
    assert counted_calls(pytester) == 1 + 2 + 3


def test_leaking_test_also_runs_the_scaled_batches(pytester):
    result = run(pytester, COUNTER + """
import pytest
KEPT = []
@pytest.mark.no_leaks(warmup=1, runs=2, scale=3)
def test_leak():
    count_call()
    KEPT.append([])
""")
    result.assert_outcomes(failed=1)
    assert counted_calls(pytester) == 1 + 1 + 2 + 2 * 3
    assert "x3 calls: +3 +3 (>= 2)" in result.stdout.str()


def test_marker_beats_ini_beats_default(pytester):
    pytester.makeini("""
        [pytest]
        memtrack = true
        memtrack_warmup = 1
        memtrack_runs = 2
        memtrack_ignore =
            Ignored*
    """)
    result = run(pytester, """
        import pytest
        KEPT = []
        class IgnoredThing:
            pass
        def test_ini_settings():
            KEPT.append([])
        @pytest.mark.no_leaks(runs=5)
        def test_marker_settings():
            KEPT.append([])
        def test_ignored_type():
            KEPT.append(IgnoredThing())
    """)
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "each of 2 runs (after 1 warm-ups)" in out
    assert "each of 5 runs (after 1 warm-ups)" in out


def test_ignore_and_filter_from_the_marker(pytester):
    result = run(pytester, """
        import pytest
        KEPT = []
        @pytest.mark.no_leaks(ignore=["list"])
        def test_ignored():
            KEPT.append([])
        @pytest.mark.no_leaks(filter=lambda name: name.startswith("test_it."))
        def test_filtered():
            KEPT.append({"k": [1]})
    """)
    result.assert_outcomes(passed=2)


def test_not_repeatable_body(pytester):
    source = """
        import pytest
        def test_makes_dir(tmp_path):
            (tmp_path / "out").mkdir()
        @pytest.mark.no_leaks
        def test_marked(tmp_path):
            (tmp_path / "out").mkdir()
    """
    result = run(pytester, source, "--memtrack")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "not checked for leaks: the body failed when run again" in out
    assert "FileExistsError" in out
    assert "NOT REPEATABLE test_it.py::test_makes_dir" in out
    assert "PytestWarning" in out     # the unmarked one only warns


def test_failing_and_skipped_tests_are_not_rerun(pytester):
    result = run(pytester, COUNTER + """
import pytest
pytestmark = pytest.mark.no_leaks
def test_fails():
    count_call()
    assert False
def test_skips():
    count_call()
    pytest.skip("no")
""")
    result.assert_outcomes(failed=1, skipped=1)
    assert counted_calls(pytester) == 2


def test_memtrack_fixture(pytester):
    result = run(pytester, """
        import pytest
        KEPT = []
        def test_check_clean(memtrack):
            memtrack.check(lambda: [object()])
        def test_check_leak(memtrack):
            memtrack.check(KEPT.append, [])        # the same list: no new object
            memtrack.check(lambda: KEPT.append([]))
        def test_no_growth_clean(memtrack):
            with memtrack.no_growth():
                [dict(a=[1]) for _ in range(5)]
        def test_no_growth_leak(memtrack):
            with memtrack.no_growth():
                KEPT.extend([{"a": [1]} for _ in range(5)])
    """, "--memtrack")
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert "<lambda> leaks 1 type(s): list" in out
    assert "the block left 10 new object(s) of 2 type(s)" in out
    assert "4 using the memtrack fixture" in out


def test_bad_settings_are_usage_errors(pytester):
    result = run(pytester, "def test_x(): pass\n", "--memtrack-rounds", "3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "W:N" in result.stderr.str()
    result = run(pytester, """
        import pytest
        @pytest.mark.no_leaks(runs=0)
        def test_x():
            pass
    """)
    assert "runs must be >= 1" in result.stderr.str()
    result = run(pytester, """
        import pytest
        @pytest.mark.no_leak_check
        def test_x():
            pass
    """)
    assert "needs reason=" in result.stderr.str()


def test_plugin_can_be_disabled(pytester):
    result = run(pytester, """
        import pytest
        KEPT = []
        @pytest.mark.no_leaks
        def test_leak():
            KEPT.append([])
    """, "-p", "no:pymemtrack")
    result.assert_outcomes(passed=1)
    assert "pymemtrack" not in result.stdout.str()
