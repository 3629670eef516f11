"""Which Chromium the search page's test drives: Playwright's own if it is installed, else the system's.

python -m tests.integration.browser             # prints the browser, or what to install (exit 1)
python -m tests.integration.browser --install   # without one, installs one first (what `make test` runs)

``--install`` tries Playwright's own build first (its download server, as on any machine on the internet),
then, as root on Debian or Ubuntu, the system's package (``apt-get install chromium``), so that ``make test``
on a fresh clone needs nothing done by hand; it prints what to install if neither works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = (
    "The search page test needs Chromium. Install one of:\n"
    "  .venv/bin/playwright install chromium     (Playwright's own build; needs its download server)\n"
    "  sudo apt-get install chromium             (Debian, Ubuntu: the system's)\n"
    "or run `make test-fast` for the tests that need no browser."
)


class NoBrowserError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(INSTALL)


def find_browser() -> str | None:
    """The executable to launch: ``None`` for Playwright's own Chromium (installed with ``playwright install
    chromium``), else the path of a system Chromium. Raises :class:`NoBrowserError` if there is neither."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        own = playwright.chromium.executable_path
    if own and Path(own).exists():
        return None
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise NoBrowserError


def install() -> None:
    """Try to install a Chromium: Playwright's own build, then (as root, with apt-get) the system's."""
    attempts = [("playwright install chromium", [sys.executable, "-m", "playwright", "install", "chromium"])]
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        attempts += [
            ("apt-get update", ["apt-get", "-qq", "update"]),
            ("apt-get install chromium", ["apt-get", "-qq", "install", "-y", "chromium"]),
        ]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for label, command in attempts:
        print(f"no Chromium for the search page test; trying: {label}", file=sys.stderr)
        try:
            done = subprocess.run(command, env=environment, capture_output=True, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            print(f"  failed: {error}", file=sys.stderr)
            continue
        if done.returncode != 0:
            print(f"  failed: {done.stderr.decode(errors='replace').strip()[-300:]}", file=sys.stderr)
            continue
        try:
            find_browser()
            return
        except NoBrowserError:
            pass


def main() -> int:
    try:
        found = find_browser()
    except NoBrowserError as error:
        if "--install" not in sys.argv[1:]:
            print(error, file=sys.stderr)
            return 1
        install()
        try:
            found = find_browser()
        except NoBrowserError:
            print(error, file=sys.stderr)
            return 1
    print("browser for the page test:", found or "Playwright's own Chromium")
    return 0


if __name__ == "__main__":
    sys.exit(main())
