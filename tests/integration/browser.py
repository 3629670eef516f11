"""Which Chromium the search page's test drives: Playwright's own if it is installed, else the system's.

python -m tests.integration.browser     # prints the browser, or what to install (exit 1)
"""

from __future__ import annotations

import shutil
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


def main() -> int:
    try:
        found = find_browser()
    except NoBrowserError as error:
        print(error, file=sys.stderr)
        return 1
    print("browser for the page test:", found or "Playwright's own Chromium")
    return 0


if __name__ == "__main__":
    sys.exit(main())
