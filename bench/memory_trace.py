"""devhost under ``tracemalloc``: what the process's Python allocations were at their peak.

    python -m bench.memory_trace REPORT FRAMES start --app-dir . ...   # then devhost's own arguments

Runs ``python -m devhost`` with allocations traced (FRAMES frames each). A thread watches the
traced total every 0.2 s and takes a snapshot whenever it passes the last snapshot's by 5 %, so the
last snapshot is within about 5 % of the peak. When devhost exits, REPORT gets the peak, and the
snapshot's largest allocations grouped by traceback and by line. For ``bench/memory_bench.py``.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc
from pathlib import Path

from devhost.__main__ import main as devhost_main

MB = 1024 * 1024
TOP = 25


class PeakSnapshots:
    def __init__(self) -> None:
        self.snapshot: tracemalloc.Snapshot | None = None
        self.snapshot_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracemalloc-peak", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            current, _ = tracemalloc.get_traced_memory()
            if current > self.snapshot_bytes * 1.05:
                self.snapshot = tracemalloc.take_snapshot()
                self.snapshot_bytes = current

    def report(self) -> str:
        current, peak = tracemalloc.get_traced_memory()
        lines = [
            f"traced peak {peak / MB:.1f} MB; snapshot at {self.snapshot_bytes / MB:.1f} MB; "
            f"at exit {current / MB:.1f} MB"
        ]
        if self.snapshot is None:
            return "\n".join(lines)
        snapshot = self.snapshot.filter_traces(
            [
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            ]
        )
        for key in ("traceback", "lineno"):
            lines += ["", f"top {TOP} at the peak, by {key}:"]
            for stat in snapshot.statistics(key)[:TOP]:
                lines.append(f"{stat.size / MB:8.2f} MB {stat.count:8d} blocks")
                frames = stat.traceback.format(most_recent_first=True)
                lines += [f"    {frame.strip()}" for frame in frames if frame.strip()]
        return "\n".join(lines)


def main() -> int:
    report, frames, *devhost_args = sys.argv[1:]
    tracemalloc.start(int(frames))
    watcher = PeakSnapshots()
    watcher.start()
    try:
        return devhost_main(devhost_args)
    finally:
        watcher.stop()
        Path(report).write_text(watcher.report() + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
