"""Peak resident memory of this process during a block, sampled cheaply from /proc (Linux).

``getrusage``'s ``ru_maxrss`` is the peak of the whole process lifetime, so it cannot tell one
measured block from the next; sampling the current RSS every few milliseconds can. Where
``/proc/self/statm`` does not exist the sampler reports nothing rather than a wrong number.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

STATM = Path("/proc/self/statm")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_bytes() -> int | None:
    try:
        return int(STATM.read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return None


class RssSampler:
    """``with RssSampler() as rss: ...`` then ``rss.peak_bytes`` and ``rss.start_bytes``."""

    def __init__(self, interval_seconds: float = 0.01) -> None:
        self.interval_seconds = interval_seconds
        self.start_bytes: int | None = None
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self.start_bytes = self.peak_bytes = current_rss_bytes()
        if self.start_bytes is not None:
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._sample()

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._sample()

    def _sample(self) -> None:
        rss = current_rss_bytes()
        if rss is not None and self.peak_bytes is not None:
            self.peak_bytes = max(self.peak_bytes, rss)
