"""Build script for the pymemtrack._core C extension.

Project metadata lives in pyproject.toml; this file only describes the
extension and checks, before compiling, that the uthash header is present.

Environment variables read at build time:

PYMEMTRACK_UTHASH_INCLUDE  os.pathsep-separated directories to search for
                           uthash.h (added to the include path).
CPATH, C_INCLUDE_PATH      also added to the include path (and searched).
PYMEMTRACK_CFLAGS          extra compiler flags, split with shlex, appended
                           (e.g. "-fsanitize=address,undefined
                           -fno-omit-frame-pointer").
PYMEMTRACK_LDFLAGS         extra linker flags, split with shlex, appended.
"""

import os
import shlex
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
CORE_DIR = "pymemtrack/_core"
SYSTEM_INCLUDE_DIRS = ["/usr/include", "/usr/local/include"]

UTHASH_MISSING = (
    "pymemtrack needs the uthash header (uthash.h): install it with "
    "'apt-get install uthash-dev' (Debian/Ubuntu) or 'brew install uthash', "
    "or point PYMEMTRACK_UTHASH_INCLUDE at the directory that holds it."
)

# CPython's own headers (3.10-3.13, gcc 12) raise no warnings under
# -Wall -Wextra, so no -Wno-* flags are needed; keep the warnings on.
# -fvisibility=hidden: the module exports only PyInit__core (PyMODINIT_FUNC
# marks it visible). Without it every non-static pmt_* function is
# interposable in the -fPIC build: calls between the C files go through the
# PLT and the compiler may not inline one into a caller in its own file
# (the deep heap walk calls several per object; about 7% of heap()).
COMPILE_ARGS = ["-Wall", "-Wextra", "-std=c11", "-fvisibility=hidden"]


def _env_dirs(*names):
    """Directories from os.pathsep-separated environment variables, in order,
    without empty entries or duplicates."""
    dirs = []
    for name in names:
        for d in os.environ.get(name, "").split(os.pathsep):
            d = d.strip()
            if d and d not in dirs:
                dirs.append(d)
    return dirs


def _env_flags(name):
    return shlex.split(os.environ.get(name, ""))


class build_ext_checked(build_ext):
    """build_ext that stops with one clear sentence when uthash.h is missing.

    The check runs only when the extension is actually built, so `sdist`
    (and metadata-only commands) work without uthash installed.
    """

    def run(self):
        for ext in self.extensions:
            if not ext.sources:
                raise SystemExit(
                    "pymemtrack: no C sources found in %s/*.c." % CORE_DIR
                )
            search = list(ext.include_dirs) + list(self.include_dirs or [])
            search += [d for d in SYSTEM_INCLUDE_DIRS if d not in search]
            if not any(os.path.isfile(os.path.join(d, "uthash.h")) for d in search):
                raise SystemExit(UTHASH_MISSING)
        super().run()


sources = sorted(os.path.join(CORE_DIR, os.path.basename(p))
                 for p in glob(os.path.join(HERE, CORE_DIR, "*.c")))
headers = sorted(os.path.join(CORE_DIR, os.path.basename(p))
                 for p in glob(os.path.join(HERE, CORE_DIR, "*.h")))

include_dirs = [CORE_DIR]
for d in _env_dirs("PYMEMTRACK_UTHASH_INCLUDE", "CPATH", "C_INCLUDE_PATH"):
    if d not in include_dirs:
        include_dirs.append(d)

core = Extension(
    "pymemtrack._core",
    sources=sources,
    depends=headers,  # rebuild when a header changes
    include_dirs=include_dirs,
    extra_compile_args=COMPILE_ARGS + _env_flags("PYMEMTRACK_CFLAGS"),
    extra_link_args=_env_flags("PYMEMTRACK_LDFLAGS"),
)

setup(
    ext_modules=[core],
    cmdclass={"build_ext": build_ext_checked},
)
