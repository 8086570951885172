"""A real headless Chromium for page tests: the system's chromium and chromedriver, never a download.

``make setup`` (and ``.ci/run``) install Debian's ``chromium`` and ``chromium-driver``. Selenium
drives them through the given paths, so its own driver manager never runs (``SE_OFFLINE`` keeps it
from fetching anything even if it did). The browser starts with an empty profile in a temporary
directory and without background networking, component updates, sync or first-run pages: it
talks to nothing but the loopback pages under test.

Screenshots go to ``$TEST_ARTIFACTS_DIR`` (default: ``<temp dir>/artifacts``), outside the
repository.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


def artifacts_dir(name: str) -> Path:
    root = Path(os.environ.get("TEST_ARTIFACTS_DIR") or Path(tempfile.gettempdir()) / "artifacts")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def headless_chromium() -> Iterator[webdriver.Chrome]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        raise AssertionError(
            f"{', '.join(missing)} missing: run `make setup` (installs chromium, chromium-driver)"
        )
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = Options()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
        try:
            driver.set_page_load_timeout(20)
            yield driver
        finally:
            driver.quit()
