"""A progress bar on stderr for the ops commands that wait on many things."""
from __future__ import annotations

import sys

WIDTH = 30


def show_progress(done: int, total: int, label: str) -> None:
    """Redraws `label [####......] done/total` in place; ends the line when done reaches total."""
    filled = WIDTH * done // max(total, 1)
    end = "\n" if done == total else ""
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}{end}")
    sys.stderr.flush()
