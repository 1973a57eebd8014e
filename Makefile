# pymemtrack: build, test and benchmark helpers (GNU make + bash).
#
#   make deps            install uthash-dev, graphviz and gdb with apt-get if missing
#   make venv-3.11       (re)build .venv/3.11 with pymemtrack[test] installed editable
#   make test            run the test suite on every Python in PYTHONS
#   make demo            run `python -m pymemtrack demo` on Python $(PY)
#   make bench           run benchmarks/bench_*.py on Python $(PY)
#   make pythons         show which interpreter each version in PYTHONS resolves to
#   make sanitize        build with -fsanitize=address,undefined into .venv/asan-$(SAN_PY), run the suite under it
#   make valgrind        run tools/workload.py under valgrind memcheck on Python $(VALGRIND_PY)
#   make selfleak        the self-leak tests on every Python in PYTHONS, more rounds
#   make selfleak-dbg    the self-leak tests on Debian's debug CPython (sys.gettotalrefcount)
#   make stress          the thread and fuzz tests, 5x the iterations/examples, on Python $(PY)
#   make clean           remove build products and virtual environments
#
# Build knobs (read by setup.py, passed through the environment):
#   PYMEMTRACK_UTHASH_INCLUDE, PYMEMTRACK_CFLAGS, PYMEMTRACK_LDFLAGS
# e.g. a sanitizer build:
#   make test PYMEMTRACK_CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer' \
#             PYMEMTRACK_LDFLAGS='-fsanitize=address,undefined'

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHONS ?= 3.10 3.11 3.12 3.13
PY ?= 3.11
VENV_DIR ?= .venv
# pip's verbosity for the editable installs; `make test PIP_OPTS=-v` shows the
# compiler's command lines and warnings.
PIP_OPTS ?= -q

# pip must never wait for input (CI has no stdin).
export PIP_NO_INPUT := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# find_py X.Y: print the path of a working Python X.Y interpreter, or fail.
# Prefers the newest final release X.Y.N under the pyenv root(s)
# ($PYENV_ROOT, `pyenv root`, $HOME/.pyenv), then pythonX.Y on PATH.
define FIND_PY
find_py() {
	local want="$$1" root d ver exe cands=""
	local check="import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$$want'.split('.'))))"
	for root in "$${PYENV_ROOT:-}" "$$(pyenv root 2>/dev/null || true)" "$${HOME:-/root}/.pyenv"; do
		[ -n "$$root" ] && [ -d "$$root/versions" ] || continue
		for d in "$$root/versions/$$want".*; do
			ver="$${d##*/}"
			[[ "$$ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+$$ ]] || continue
			[ -x "$$d/bin/python" ] && cands+="$$ver $$d/bin/python"$$'\n'
		done
	done
	while read -r ver exe; do
		[ -n "$${exe:-}" ] || continue
		if "$$exe" -c "$$check" >/dev/null 2>&1; then echo "$$exe"; return 0; fi
	done < <(printf '%s' "$$cands" | sort -rV -k1,1)
	if command -v "python$$want" >/dev/null 2>&1 && "python$$want" -c "$$check" >/dev/null 2>&1; then
		"python$$want" -c 'import sys; print(sys.executable)'
		return 0
	fi
	return 1
}
endef

.PHONY: help deps pythons test demo bench clean sanitize venv-asan valgrind deps-valgrind selfleak \
        selfleak-dbg venv-dbg deps-dbg stress FORCE
FORCE:

help:
	@sed -n '2,15s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --- system packages --------------------------------------------------------
deps:
	@missing_deps() {
		local d have_uthash=no
		IFS=: read -r -a dirs <<< "$${PYMEMTRACK_UTHASH_INCLUDE:-}:$${CPATH:-}:$${C_INCLUDE_PATH:-}:/usr/include:/usr/local/include"
		for d in "$${dirs[@]}"; do
			if [ -n "$$d" ] && [ -f "$$d/uthash.h" ]; then have_uthash=yes; break; fi
		done
		missing=()
		[ "$$have_uthash" = yes ] || missing+=("uthash-dev (uthash.h)")
		command -v dot >/dev/null 2>&1 || missing+=("graphviz (dot)")
		command -v gdb >/dev/null 2>&1 || missing+=("gdb (attach)")
		[ $${#missing[@]} -gt 0 ]
	}
	missing_deps || exit 0
	echo "deps: missing $${missing[*]}; installing the Debian packages uthash-dev, graphviz and gdb"
	fail() {
		echo "deps: cannot install the Debian packages uthash-dev, graphviz and gdb ($$1): install them by hand (missing: $${missing[*]})." >&2
		exit 1
	}
	command -v apt-get >/dev/null 2>&1 || fail "apt-get not found"
	sudo=()
	if [ "$$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || fail "not root and no sudo"
		if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	"$${sudo[@]}" apt-get update -qq || fail "apt-get update failed"
	"$${sudo[@]}" apt-get install -y -qq uthash-dev graphviz gdb >/dev/null || fail "apt-get install failed"
	if missing_deps; then fail "still missing after apt-get install; if the packages are installed but files are gone, try 'apt-get install --reinstall uthash-dev graphviz gdb'"; fi
	echo "deps: installed uthash-dev, graphviz and gdb"

# --- interpreters and virtual environments ----------------------------------
pythons:
	@$(FIND_PY)
	for v in $(PYTHONS); do
		if exe=$$(find_py "$$v"); then
			echo "$$v: $$exe ($$("$$exe" -c 'import platform; print(platform.python_version())'))"
		else
			echo "$$v: not found"
		fi
	done

# venv-X.Y: always re-runs (re-installs, so the extension is rebuilt), but
# reuses .venv/X.Y when it exists and still belongs to the same interpreter.
venv-%: deps FORCE
	@$(FIND_PY)
	py=$$(find_py '$*') || {
		echo "venv-$*: no Python $* found (looked for <pyenv root>/versions/$*.N/bin/python and python$* on PATH)" >&2
		exit 1
	}
	venv='$(VENV_DIR)/$*'
	base=$$("$$py" -c 'import sys; print(sys.base_prefix)')
	if [ ! -x "$$venv/bin/python" ] || [ "$$("$$venv/bin/python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null || true)" != "$$base" ]; then
		echo "venv-$*: creating $$venv with $$py"
		rm -rf "$$venv"
		"$$py" -m venv "$$venv"
		"$$venv/bin/python" -m pip install -q --upgrade pip
	fi
	echo "venv-$*: installing pymemtrack[test] (editable) into $$venv"
	"$$venv/bin/python" -m pip install $(PIP_OPTS) -e '.[test]'

# --- test matrix ------------------------------------------------------------
# Builds every version in PYTHONS, then runs the suites TEST_JOBS at a time
# (each suite is one process; its output is printed whole when it ends).
# Keeps going; a version with no interpreter is reported. Fails if any
# version failed (pytest exit 5, "no tests collected", is a failure) or if no
# interpreter was found at all.
TEST_JOBS ?= 2
PYTEST_OPTS ?= --durations=15

test: deps
	@$(FIND_PY)
	summary=(); failed=0; found=0; ready=()
	for v in $(PYTHONS); do
		if ! find_py "$$v" >/dev/null; then
			echo "=== Python $$v: no interpreter found"
			summary+=("$$v: not found")
			continue
		fi
		found=$$((found + 1))
		echo "=== Python $$v: build"
		if ! $(MAKE) "venv-$$v"; then
			summary+=("$$v: FAILED (build/install)"); failed=1
			continue
		fi
		ready+=("$$v")
	done
	if [ "$$found" -eq 0 ]; then
		echo "test: no Python interpreter found for any of: $(PYTHONS)" >&2
		exit 1
	fi
	logs=$$(mktemp -d); trap 'rm -rf "$$logs"' EXIT
	run_suite() {
		local v="$$1" start=$$SECONDS rc=0
		'$(VENV_DIR)'/"$$v"/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_OPTS) tests \
			> "$$logs/$$v.log" 2>&1 || rc=$$?
		echo "$$rc $$(( SECONDS - start ))" > "$$logs/$$v.rc"
	}
	echo "=== running the suites on: $${ready[*]} ($(TEST_JOBS) at a time)"
	running=0
	for v in "$${ready[@]}"; do
		if [ "$$running" -ge $(TEST_JOBS) ]; then wait -n || true; running=$$((running - 1)); fi
		run_suite "$$v" &
		running=$$((running + 1))
	done
	wait || true
	for v in "$${ready[@]}"; do
		read -r rc took < "$$logs/$$v.rc" || { rc=1; took=?; }
		echo
		echo "=== Python $$v: pytest (exit $$rc, $${took}s)"
		cat "$$logs/$$v.log"
		case $$rc in
			0) summary+=("$$v: passed ($${took}s)") ;;
			5) summary+=("$$v: FAILED (pytest exit 5: no tests collected)"); failed=1 ;;
			*) summary+=("$$v: FAILED (pytest exit $$rc)"); failed=1 ;;
		esac
	done
	echo
	echo "=== summary"
	printf '%s\n' "$${summary[@]}"
	exit $$failed

# --- reliability checks -------------------------------------------------------
# Sanitizers: the extension alone is built with ASan+UBSan (a normal CPython
# runs it: libasan is preloaded), installed (not editable, so the in-tree
# build of .venv/X.Y is never picked up) into its own venv, and the suite runs
# from an empty directory with PYTHONMALLOC=malloc, so ASan sees every
# allocation. An ASan or UBSan error aborts the process (UBSan is built
# -fno-sanitize-recover); LeakSanitizer reports are logged (exit status left
# alone: CPython's own reports are not ours) and tools/check_reports.py fails
# on those whose allocating frame is in pymemtrack/_core. -fno-wrapv undoes
# CPython's -fwrapv for our files, or UBSan could not see a signed overflow.
SAN_PY ?= 3.11
SAN_VENV = $(VENV_DIR)/asan-$(SAN_PY)
SAN_CFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
             -fno-wrapv -O1 -g
SAN_LDFLAGS = -fsanitize=address,undefined
REPORTS ?= build/reports
# Scales for the heavier tests under the sanitizer (they run ~5x slower there).
# tests/test_selfleak.py is left out: its tracemalloc rounds take half an hour
# under ASan, and what it measures (leaked bytes) is LeakSanitizer's job here
# (tests/test_selfleak_api.py still runs).
# The test files to run (default: the whole suite); .ci/run passes the ones
# that drive the C core, to stay within CI's time limit.
SAN_TESTS ?= .
SAN_TEST_ENV = PYMEMTRACK_STRESS_SCALE=0.3 PYMEMTRACK_FUZZ_EXAMPLES=25 PYMEMTRACK_FAULT_POINTS=20

venv-asan: deps
	@$(FIND_PY)
	py=$$(find_py '$(SAN_PY)') || { echo "sanitize: no Python $(SAN_PY) found" >&2; exit 1; }
	venv="$$(pwd)/$(SAN_VENV)"
	base=$$("$$py" -c 'import sys; print(sys.base_prefix)')
	if [ ! -x "$$venv/bin/python" ] || [ "$$("$$venv/bin/python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null || true)" != "$$base" ]; then
		echo "venv-asan: creating $$venv with $$py"
		rm -rf "$$venv"
		"$$py" -m venv "$$venv"
		"$$venv/bin/python" -m pip install -q --upgrade pip
	fi
	"$$venv/bin/python" -m pip install $(PIP_OPTS) '.[test]'
	echo "venv-asan: building pymemtrack with $(SAN_CFLAGS)"
	# From a clean copy: setuptools would reuse objects of an earlier build in build/.
	src=$$(mktemp -d); trap 'rm -rf "$$src"' EXIT
	tar --exclude=./.venv --exclude=./build --exclude=./.git --exclude='*.so' -cf - . | tar -C "$$src" -xf -
	PYMEMTRACK_CFLAGS='$(SAN_CFLAGS)' PYMEMTRACK_LDFLAGS='$(SAN_LDFLAGS)' \
		"$$venv/bin/python" -m pip install $(PIP_OPTS) --force-reinstall --no-deps --no-cache-dir "$$src"
	so=$$(cd / && LD_PRELOAD="$$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0 \
		"$$venv/bin/python" -c 'import pymemtrack._core as c; print(c.__file__)')
	case "$$so" in "$$(cd "$$venv" && pwd)"/*) ;; *) echo "venv-asan: pymemtrack._core resolves to $$so, not the venv" >&2; exit 1 ;; esac
	ldd "$$so" | grep -q libasan || { echo "venv-asan: $$so is not linked with libasan" >&2; exit 1; }
	echo "venv-asan: $$so"

sanitize: venv-asan
	@venv="$$(cd '$(SAN_VENV)' && pwd)"; tests="$$(pwd)/tests"; tools="$$(pwd)/tools"
	logs="$$(pwd)/$(REPORTS)/sanitize"; rm -rf "$$logs"; mkdir -p "$$logs"
	work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT
	libasan=$$(gcc -print-file-name=libasan.so)
	[ -f "$$libasan" ] || { echo "sanitize: gcc has no libasan.so" >&2; exit 1; }
	echo "sanitize: running the suite with ASan+UBSan ($$libasan), PYTHONMALLOC=malloc; logs in $$logs"
	rc=0
	( cd "$$work" && env $(SAN_TEST_ENV) PYMEMTRACK_SANITIZER=asan PYTHONMALLOC=malloc \
		LD_PRELOAD="$$libasan" \
		ASAN_OPTIONS="detect_leaks=1:log_path=$$logs/asan:halt_on_error=1" \
		LSAN_OPTIONS="exitcode=0" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$$logs/ubsan" \
		"$$venv/bin/pytest" -q -p no:cacheprovider --ignore="$$tests/test_selfleak.py" \
			$(addprefix "$$tests"/,$(SAN_TESTS)) ) || rc=$$?
	"$$venv/bin/python" "$$tools/check_reports.py" sanitizer "$$logs" || rc=1
	[ $$rc -eq 0 ] && echo "sanitize: passed" || echo "sanitize: FAILED" >&2
	exit $$rc

# valgrind memcheck of a representative workload (tools/workload.py), with
# the normal build of .venv/$(VALGRIND_PY). The XML report is parsed: invalid
# reads and writes, uninitialised values, bad frees and definite leaks fail
# the target when a frame of theirs (for a leak, the allocating frame) is in
# pymemtrack/_core; CPython's own are counted and ignored.
# 3.12 by default: CPython 3.10/3.11 leave ob_digit[0] of a zero int
# uninitialised (python/cpython#102509, fixed in 3.12; #119022 for 3.11), and
# small_ints[] is indexed with that digit, so memcheck taints the pointer to
# the int 0 and reports every traversal that visits it, CPython's own
# collector's and ours alike.
VALGRIND_PY ?= 3.12

deps-valgrind:
	@command -v valgrind >/dev/null 2>&1 && exit 0
	echo "deps-valgrind: installing Debian's valgrind"
	command -v apt-get >/dev/null 2>&1 || { echo "deps-valgrind: no apt-get: install valgrind by hand" >&2; exit 1; }
	sudo=(); [ "$$(id -u)" -eq 0 ] || sudo=(sudo -n)
	export DEBIAN_FRONTEND=noninteractive
	"$${sudo[@]}" apt-get update -qq && "$${sudo[@]}" apt-get install -y -qq valgrind >/dev/null

valgrind: deps deps-valgrind venv-$(VALGRIND_PY)
	logs="$$(pwd)/$(REPORTS)/valgrind"; rm -rf "$$logs"; mkdir -p "$$logs"
	py="$$(pwd)/$(VENV_DIR)/$(VALGRIND_PY)/bin/python"; tools="$$(pwd)/tools"
	echo "valgrind: memcheck of tools/workload.py on Python $(VALGRIND_PY), PYTHONMALLOC=malloc; reports in $$logs"
	rc=0
	PYTHONMALLOC=malloc valgrind --tool=memcheck --xml=yes --xml-file="$$logs/memcheck.%p.xml" \
		--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
		--track-origins=yes --num-callers=40 \
		"$$py" "$$tools/workload.py" || rc=$$?
	"$$py" "$$tools/check_reports.py" valgrind "$$logs" || rc=1
	[ $$rc -eq 0 ] && echo "valgrind: passed" || echo "valgrind: FAILED" >&2
	exit $$rc

SELFLEAK_TESTS = tests/test_selfleak_api.py tests/test_selfleak.py
SELFLEAK_ENV = PYMEMTRACK_LEAK_WARMUPS=4 PYMEMTRACK_LEAK_ROUNDS=8 PYMEMTRACK_LEAK_NATIVE_CALLS=40

selfleak: deps
	@failed=0
	for v in $(PYTHONS); do
		echo "=== selfleak: Python $$v"
		$(MAKE) "venv-$$v" || { failed=1; continue; }
		env $(SELFLEAK_ENV) '$(VENV_DIR)'/"$$v"/bin/python -m pytest -q -p no:cacheprovider $(SELFLEAK_TESTS) || failed=1
	done
	exit $$failed

# Debian's python3.11-dbg (3.11.2, a debug build: sys.gettotalrefcount) in its
# own venv; the extension builds against /usr/include/python3.11d.
DBG_PY ?= python3.11-dbg
DBG_VENV = $(VENV_DIR)/3.11-dbg

deps-dbg:
	@command -v $(DBG_PY) >/dev/null 2>&1 && exit 0
	echo "deps-dbg: installing Debian's python3.11-dbg"
	command -v apt-get >/dev/null 2>&1 || { echo "deps-dbg: no apt-get: install a debug CPython 3.11 as $(DBG_PY)" >&2; exit 1; }
	sudo=(); [ "$$(id -u)" -eq 0 ] || sudo=(sudo -n)
	export DEBIAN_FRONTEND=noninteractive
	"$${sudo[@]}" apt-get update -qq && "$${sudo[@]}" apt-get install -y -qq python3.11-dbg python3.11-venv >/dev/null

venv-dbg: deps deps-dbg
	@venv='$(DBG_VENV)'
	if [ ! -x "$$venv/bin/python" ]; then
		echo "venv-dbg: creating $$venv with $(DBG_PY)"
		$(DBG_PY) -m venv "$$venv"
	fi
	"$$venv/bin/python" -c 'import sys; assert hasattr(sys, "gettotalrefcount"), "not a debug build"'
	echo "venv-dbg: installing pymemtrack[test] (editable) into $$venv"
	"$$venv/bin/python" -m pip install $(PIP_OPTS) -e '.[test]'

selfleak-dbg: venv-dbg
	@echo "=== selfleak on $$('$(DBG_VENV)/bin/python' -c 'import sys; print(sys.version.split()[0], "debug build, gettotalrefcount")')"
	env $(SELFLEAK_ENV) '$(DBG_VENV)/bin/python' -m pytest -q -p no:cacheprovider $(SELFLEAK_TESTS)

stress: deps venv-$(PY)
	@env PYMEMTRACK_STRESS_SCALE=5 PYMEMTRACK_FUZZ_EXAMPLES=500 PYMEMTRACK_FAULT_POINTS=400 \
		'$(VENV_DIR)/$(PY)/bin/python' -m pytest -q -p no:cacheprovider \
		tests/test_threads.py tests/test_fuzz.py tests/test_mempressure.py

# --- demo and benchmarks ----------------------------------------------------
demo: deps venv-$(PY)
	@'$(VENV_DIR)/$(PY)/bin/python' -m pymemtrack demo

bench: deps venv-$(PY)
	@venv='$(VENV_DIR)/$(PY)'
	echo "bench: installing pymemtrack[bench] (editable) into $$venv"
	"$$venv/bin/python" -m pip install $(PIP_OPTS) -e '.[bench]'
	shopt -s nullglob
	files=(benchmarks/bench_*.py)
	if [ $${#files[@]} -eq 0 ]; then
		echo "bench: no benchmarks/bench_*.py found" >&2
		exit 1
	fi
	failed=()
	for f in "$${files[@]}"; do
		echo "=== $$f"
		"$$venv/bin/python" "$$f" || failed+=("$$f")
	done
	if [ $${#failed[@]} -gt 0 ]; then
		echo "bench: failed: $${failed[*]}" >&2
		exit 1
	fi

# --- housekeeping -----------------------------------------------------------
clean:
	@rm -rf build dist '$(VENV_DIR)' *.egg-info .pytest_cache .hypothesis
	if [ -d pymemtrack ]; then find pymemtrack -name '*.so' -delete; fi
	echo "clean: done"
