"""Read sanitizer and valgrind reports; fail on the ones that are pymemtrack's.

    python tools/check_reports.py sanitizer DIR   # ASan/LSan/UBSan log files (log_path=DIR/...)
    python tools/check_reports.py valgrind DIR    # memcheck --xml files (DIR/*.xml)

Only pymemtrack's C core is instrumented by the sanitizer build, so every
AddressSanitizer or UndefinedBehaviorSanitizer report fails the check. Leak
reports (LeakSanitizer, valgrind "definitely lost") and valgrind's errors
cover the whole process, CPython included: those fail only when they are
pymemtrack's, that is when a frame of the error's stack is in the _core
extension (for a leak, or the origin of an uninitialised value: when the
first frame past the allocator functions is), and the rest are counted and
ignored. This filter is the
suppression file: nothing of CPython's needs listing by name.

Exit status 1 when a report is pymemtrack's (or when a run did not finish),
else 0.
"""

from __future__ import annotations

import glob
import os
import re
import sys
import xml.etree.ElementTree as ET
from typing import List, Optional, Sequence

OURS = re.compile(r"pymemtrack[/\\]_core[./\\]|_core\.cpython-[^/\s]*\.so")

# Frames that only allocate: a leak belongs to the first frame past them.
ALLOCATORS = re.compile(
    r"^(__interceptor_|__wrap_)?(malloc|calloc|realloc|free|reallocarray|memalign|"
    r"posix_memalign|aligned_alloc|operator new.*)$|"
    r"^_?Py(Mem|Object)_(Raw)?(Malloc|Calloc|Realloc)$|^_PyMem_(Raw|Debug)\w*$|"
    r"^_PyObject_(Malloc|Calloc|Realloc)\w*$|^pmt_raw_(malloc|calloc|realloc)$")

VALGRIND_FATAL_KINDS = ("Invalid", "Uninit", "Mismatched", "Overlap", "SyscallParam",
                        "ClientCheck", "FishyValue")


# --- sanitizer logs ------------------------------------------------------------------


def _frames(block: str) -> List[str]:
    return [line.strip() for line in block.splitlines() if re.match(r"\s*#\d+ ", line)]


def _frame_fn(frame: str) -> str:
    m = re.match(r"#\d+ 0x[0-9a-f]+ in (\S+)", frame)
    return m.group(1) if m else ""


def _leak_is_ours(frames: Sequence[str]) -> bool:
    for frame in frames:
        if ALLOCATORS.match(_frame_fn(frame)):
            continue
        return bool(OURS.search(frame))
    return False


def check_sanitizer(directory: str) -> int:
    files = sorted(glob.glob(os.path.join(directory, "*")))
    ours, ignored = [], 0
    for path in files:
        with open(path, errors="replace") as f:
            text = f.read()
        if "ERROR: AddressSanitizer" in text or "runtime error:" in text:
            ours.append(f"{path}:\n{text[:6000]}")
            continue
        if "ERROR: LeakSanitizer" not in text:
            continue
        for block in re.split(r"\n(?=(?:Direct|Indirect) leak of )", text):
            if not re.match(r"(Direct|Indirect) leak of ", block):
                continue
            frames = _frames(block)
            if _leak_is_ours(frames):
                ours.append(f"{path}:\n{block.strip()[:4000]}")
            else:
                ignored += 1
    print(f"sanitizer: {len(files)} log file(s); {len(ours)} report(s) from pymemtrack, "
          f"{ignored} leak report(s) outside pymemtrack ignored")
    for report in ours:
        print("\n" + report)
    return 1 if ours else 0


# --- valgrind xml ------------------------------------------------------------------------


def _vg_frames(stack: Optional[ET.Element]) -> List[dict]:
    if stack is None:
        return []
    out = []
    for fr in stack.findall("frame"):
        out.append({k: (fr.findtext(k) or "") for k in ("obj", "fn", "dir", "file", "line")})
    return out


def _vg_frame_text(fr: dict) -> str:
    where = f"{fr['file']}:{fr['line']}" if fr["file"] else fr["obj"]
    return f"{fr['fn'] or '???'} ({where})"


def _vg_is_ours(fr: dict) -> bool:
    return bool(OURS.search(fr["obj"]) or OURS.search(os.path.join(fr["dir"], fr["file"])))


def _vg_allocated_by_us(frames: List[dict]) -> bool:
    for fr in frames:
        if ALLOCATORS.match(fr["fn"]):
            continue
        return _vg_is_ours(fr)
    return False


def check_valgrind(directory: str) -> int:
    files = sorted(glob.glob(os.path.join(directory, "*.xml")))
    ours, ignored, unfinished = [], 0, []
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            unfinished.append(f"{path}: not complete XML ({exc}): the run crashed or was killed")
            continue
        states = [s.findtext("state") for s in root.findall("status")]
        if "FINISHED" not in states:
            unfinished.append(f"{path}: valgrind did not finish")
        for err in root.findall("error"):
            kind = err.findtext("kind") or ""
            what = err.findtext("what") or err.findtext("xwhat/text") or ""
            stacks = err.findall("stack")
            frames = _vg_frames(stacks[0] if stacks else None)
            if kind.startswith("Leak_"):
                mine = _vg_allocated_by_us(frames)
            elif kind.startswith(VALGRIND_FATAL_KINDS):
                mine = any(_vg_is_ours(fr) for fr in frames)
                if kind.startswith("Uninit") and len(stacks) > 1:
                    # --track-origins: memory we allocated and left unset,
                    # read later by CPython, is ours too.
                    mine = mine or _vg_allocated_by_us(_vg_frames(stacks[1]))
            else:
                mine = False
            if mine:
                text = [f"{kind}: {what}"] + ["    " + _vg_frame_text(fr) for fr in frames[:25]]
                for aux, stack in zip(err.findall("auxwhat"), err.findall("stack")[1:]):
                    text.append("  " + (aux.text or ""))
                    text += ["    " + _vg_frame_text(fr) for fr in _vg_frames(stack)[:10]]
                ours.append(f"{path}:\n" + "\n".join(text))
            else:
                ignored += 1
    print(f"valgrind: {len(files)} run(s); {len(ours)} error(s) in pymemtrack, "
          f"{ignored} outside pymemtrack ignored")
    for report in unfinished + ours:
        print("\n" + report)
    if not files:
        print("valgrind: no XML output found")
        return 1
    return 1 if ours or unfinished else 0


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("sanitizer", "valgrind"):
        print(__doc__)
        return 2
    return (check_sanitizer if argv[0] == "sanitizer" else check_valgrind)(argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
