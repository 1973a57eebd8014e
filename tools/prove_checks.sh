#!/usr/bin/env bash
# Show that each reliability check can fail: build deliberately broken copies
# of pymemtrack (scratch copies under a temporary directory, never this tree),
# run the check that must catch each bug, and report whether it did.
#
#   bash tools/prove_checks.sh            # every case
#   bash tools/prove_checks.sh asan-overflow valgrind-use-after-free
#
# Needs .venv/3.11 (make venv-3.11), gcc's libasan, valgrind. Exit status 0
# when every check caught its bug. Takes a few minutes (one build per case).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base_py="$root/.venv/3.11/bin/python"
[ -x "$base_py" ] || { echo "prove_checks: run 'make venv-3.11' first" >&2; exit 1; }
work=${PROVE_DIR:-$(mktemp -d /tmp/pmt-prove.XXXXXX)}
libasan=$(gcc -print-file-name=libasan.so)
san_cflags='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -fno-wrapv -O1 -g'
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
echo "prove_checks: scratch directory $work"

venv() {  # venv NAME: a venv with the test dependencies, made once
    local v="$work/$1"
    if [ ! -x "$v/bin/python" ]; then
        "$base_py" -m venv "$v"
        "$v/bin/python" -m pip install -q "$root[test]" >/dev/null 2>&1
    fi
    echo "$v"
}

# broken NAME FILE OLD NEW: a copy of the tree with OLD replaced by NEW in FILE.
broken() {
    local dir="$work/src-$1"
    rm -rf "$dir"; mkdir -p "$dir"
    tar -C "$root" --exclude=./.venv --exclude=./build --exclude='*.so' --exclude=__pycache__ \
        --exclude=.git -cf - . | tar -C "$dir" -xf -
    "$base_py" - "$dir/$2" "$3" "$4" <<'EOF'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
assert text.count(old) == 1, f"{path}: the text to break is not there exactly once: {old!r}"
open(path, "w").write(text.replace(old, new))
EOF
    echo "$dir"
}

install() {  # install VENV SRC [asan]
    if [ "${3:-}" = asan ]; then
        PYMEMTRACK_CFLAGS="$san_cflags" PYMEMTRACK_LDFLAGS='-fsanitize=address,undefined' \
            "$1/bin/python" -m pip install -q --force-reinstall --no-deps --no-cache-dir "$2" >/dev/null 2>&1
    else
        "$1/bin/python" -m pip install -q --force-reinstall --no-deps --no-cache-dir "$2" >/dev/null 2>&1
    fi
}

results=()
verdict() {  # verdict NAME CAUGHT(0/1) OUTPUT-FILE PATTERN
    if [ "$2" -eq 1 ] && grep -qE "$4" "$3"; then
        results+=("$1: caught ($(grep -m1 -oE "$4" "$3"))")
    else
        results+=("$1: NOT CAUGHT (see $3)")
    fi
}

asan_env() {
    local logs=$1; shift
    env LD_PRELOAD="$libasan" PYTHONMALLOC=malloc \
        ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan:halt_on_error=1" LSAN_OPTIONS=exitcode=0 \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan" "$@"
}

case_asan_overflow() {
    local src v logs out=$work/asan-overflow.out
    src=$(broken asan-overflow pymemtrack/_core/snapshot.c \
        'pmt_raw_calloc((size_t)t->ntypes, sizeof(pmt_row))' \
        'pmt_raw_calloc((size_t)t->ntypes - 1, sizeof(pmt_row))')
    v=$(venv venv-asan); install "$v" "$src" asan
    logs=$work/asan-overflow.logs; rm -rf "$logs"; mkdir -p "$logs"
    (cd "$work" && asan_env "$logs" "$v/bin/pytest" -q -p no:cacheprovider -x "$src/tests/test_snapshot.py") >"$out" 2>&1 || true
    local caught=0
    "$v/bin/python" "$root/tools/check_reports.py" sanitizer "$logs" >>"$out" 2>&1 || caught=1
    verdict asan-overflow "$caught" "$out" "heap-buffer-overflow on address 0x[0-9a-f]+"
}

case_ubsan_overflow() {
    # Signed overflow: CPython compiles with -fwrapv, which makes it defined
    # and silences UBSan; the sanitizer build adds -fno-wrapv for our code.
    local src v logs out=$work/ubsan-overflow.out
    src=$(broken ubsan-overflow pymemtrack/_core/typetable.c \
        '    e->count++;
    t->total_count++;' \
        '    e->count++;
    volatile int pmt_big = 2147483647;
    pmt_big += (int)e->count;
    t->total_count++;')
    v=$(venv venv-asan); install "$v" "$src" asan
    logs=$work/ubsan-overflow.logs; rm -rf "$logs"; mkdir -p "$logs"
    # UBSan aborts the process (-fno-sanitize-recover) with the report on stderr.
    local caught=0
    (cd "$work" && asan_env "$logs" "$v/bin/python" -c 'import pymemtrack; pymemtrack.typestats()') >"$out" 2>&1 || caught=1
    verdict ubsan-overflow "$caught" "$out" "runtime error: signed integer overflow[^:]*"
}

case_valgrind_use_after_free() {
    local src v logs out=$work/valgrind-use-after-free.out
    src=$(broken valgrind-use-after-free pymemtrack/_core/snapshot.c \
        '    for (Py_ssize_t i = 0; i < n; i++) {
        Py_XDECREF(rows[i].module);
        Py_XDECREF(rows[i].name);
    }
    pmt_raw_free(rows);' \
        '    pmt_raw_free(rows);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_XDECREF(rows[i].module);
        Py_XDECREF(rows[i].name);
    }')
    v=$(venv venv); install "$v" "$src"
    logs=$work/valgrind.logs; rm -rf "$logs"; mkdir -p "$logs"
    (cd "$work" && PYTHONMALLOC=malloc valgrind --tool=memcheck --xml=yes \
        --xml-file="$logs/memcheck.%p.xml" --leak-check=full --show-leak-kinds=definite \
        --errors-for-leak-kinds=definite --num-callers=40 \
        "$v/bin/python" -c 'import pymemtrack; s = pymemtrack.snapshot(); del s') >"$out" 2>&1 || true
    local caught=0
    "$v/bin/python" "$root/tools/check_reports.py" valgrind "$logs" >>"$out" 2>&1 || caught=1
    verdict valgrind-use-after-free "$caught" "$out" "InvalidRead: Invalid read of size [0-9]+"
}

LEAK_OLD='    pmt_raw_free(ctx.recs);
    pmt_types_clear(&t);'
LEAK_NEW='    pmt_types_clear(&t);'

case_lsan_leak() {
    local src v logs out=$work/lsan-leak.out
    src=$(broken lsan-leak pymemtrack/_core/ids.c "$LEAK_OLD" "$LEAK_NEW")
    v=$(venv venv-asan); install "$v" "$src" asan
    logs=$work/lsan-leak.logs; rm -rf "$logs"; mkdir -p "$logs"
    (cd "$work" && asan_env "$logs" "$v/bin/python" -c 'from pymemtrack import _core; [_core.IdMap() for _ in range(3)]') >"$out" 2>&1 || true
    local caught=0
    "$v/bin/python" "$root/tools/check_reports.py" sanitizer "$logs" >>"$out" 2>&1 || caught=1
    verdict lsan-leak "$caught" "$out" "Direct leak of [0-9]+ byte"
}

case_selfleak_raw() {
    local src v out=$work/selfleak-raw.out
    src=$(broken selfleak-raw pymemtrack/_core/ids.c "$LEAK_OLD" "$LEAK_NEW")
    v=$(venv venv); install "$v" "$src"
    local caught=0
    (cd "$work" && "$v/bin/pytest" -q -p no:cacheprovider "$src/tests/test_selfleak_api.py" \
        -k "good_arguments and IdMap") >"$out" 2>&1 || caught=1
    verdict selfleak-raw "$caught" "$out" "raw blocks changed once warm: \[[^]]*\]"
}

case_selfleak_object() {
    local src v out=$work/selfleak-object.out
    src=$(broken selfleak-object pymemtrack/_core/names.c \
        '    Py_XDECREF(module);
    Py_DECREF(name);
    return res;' \
        '    Py_XDECREF(module);
    return res;')
    v=$(venv venv); install "$v" "$src"
    local caught=0
    (cd "$work" && "$v/bin/pytest" -q -p no:cacheprovider "$src/tests/test_selfleak_api.py" \
        -k "good_arguments and _core.typestats") >"$out" 2>&1 || caught=1
    verdict selfleak-object "$caught" "$out" "allocated blocks grew every round: \[[^]]*\]"
}

case_mempressure() {
    local src v out=$work/mempressure.out
    src=$(broken mempressure pymemtrack/_core/typetable.c \
        '    if (pmt_hash_oom) {
        pmt_raw_free(e);' \
        '    if (pmt_hash_oom) {')
    v=$(venv venv); install "$v" "$src"
    local caught=0
    (cd "$work" && "$v/bin/pytest" -q -p no:cacheprovider "$src/tests/test_mempressure.py" \
        -k "many_types") >"$out" 2>&1 || caught=1
    verdict mempressure "$caught" "$out" "[0-9]+ raw blocks leaked"
}

case_threads() {
    local src v out=$work/threads.out
    src=$(broken threads pymemtrack/_core/walk.c \
        'for (int i = 0; i < NUM_GENERATIONS && r == 0; i++) {' \
        'for (int i = 0; i < NUM_GENERATIONS - 1 && r == 0; i++) {')
    v=$(venv venv); install "$v" "$src"
    local caught=0
    (cd "$work" && PYMEMTRACK_STRESS_SCALE=0.05 "$v/bin/pytest" -q -p no:cacheprovider \
        "$src/tests/test_threads.py" -k "walker_under_churning_threads and typestats and not filter and not shared") >"$out" 2>&1 \
        || caught=1
    verdict threads "$caught" "$out" "typestats\(\) != gc.get_objects\(\) after the churn"
}

case_fuzz() {
    local src v out=$work/fuzz.out
    src=$(broken fuzz pymemtrack/counting.py \
        '    _check_file(file)
    stats = most_common_types(' \
        '    stats = most_common_types(')
    v=$(venv venv); install "$v" "$src"
    local caught=0
    (cd "$work" && PYMEMTRACK_FUZZ_EXAMPLES=300 "$v/bin/pytest" -q -p no:cacheprovider \
        "$src/tests/test_fuzz.py" -k "arbitrary_arguments and show_most_common_types") >"$out" 2>&1 \
        || caught=1
    verdict fuzz "$caught" "$out" "raised an undocumented AttributeError"
}

ALL=(asan_overflow ubsan_overflow valgrind_use_after_free lsan_leak selfleak_raw
     selfleak_object mempressure threads fuzz)
if [ $# -gt 0 ]; then cases=("${@//-/_}"); else cases=("${ALL[@]}"); fi
for c in "${cases[@]}"; do
    echo "=== $c"
    "case_$c"
done

echo
echo "=== prove_checks: each check against its deliberately broken build"
printf '%s\n' "${results[@]}"
if printf '%s\n' "${results[@]}" | grep -q "NOT CAUGHT"; then
    echo "prove_checks: outputs kept in $work" >&2
    exit 1
fi
[ -n "${PROVE_DIR:-}" ] || rm -rf "$work"   # ~500 MB of venvs and builds
exit 0
