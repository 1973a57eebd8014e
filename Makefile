# pymemtrack: build, test and benchmark helpers (GNU make + bash).
#
#   make deps            install uthash-dev, graphviz and gdb with apt-get if missing
#   make venv-3.11       (re)build .venv/3.11 with pymemtrack[test] installed editable
#   make test            run the test suite on every Python in PYTHONS
#   make demo            run `python -m pymemtrack demo` on Python $(PY)
#   make bench           run benchmarks/bench_*.py on Python $(PY)
#   make pythons         show which interpreter each version in PYTHONS resolves to
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

.PHONY: help deps pythons test demo bench clean FORCE
FORCE:

help:
	@sed -n '2,10s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

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
# Runs every version in PYTHONS and keeps going; a version with no interpreter
# is reported. Fails if any version failed (pytest exit 5, "no tests
# collected", is a failure) or if no interpreter was found at all.
test: deps
	@$(FIND_PY)
	summary=(); failed=0; found=0
	for v in $(PYTHONS); do
		if ! find_py "$$v" >/dev/null; then
			echo "=== Python $$v: no interpreter found"
			summary+=("$$v: not found")
			continue
		fi
		found=$$((found + 1))
		echo "=== Python $$v"
		if ! $(MAKE) "venv-$$v"; then
			summary+=("$$v: FAILED (build/install)"); failed=1
			continue
		fi
		rc=0
		'$(VENV_DIR)'/"$$v"/bin/python -m pytest -q -p no:cacheprovider tests || rc=$$?
		case $$rc in
			0) summary+=("$$v: passed") ;;
			5) summary+=("$$v: FAILED (pytest exit 5: no tests collected)"); failed=1 ;;
			*) summary+=("$$v: FAILED (pytest exit $$rc)"); failed=1 ;;
		esac
	done
	echo
	echo "=== summary"
	printf '%s\n' "$${summary[@]}"
	if [ "$$found" -eq 0 ]; then
		echo "test: no Python interpreter found for any of: $(PYTHONS)" >&2
		exit 1
	fi
	exit $$failed

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
