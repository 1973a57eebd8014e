"""``python -m pymemtrack``: see :mod:`pymemtrack.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main(None))
