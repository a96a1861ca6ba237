"""Save a PNG of a leaderboard page as headless Chromium shows it at 1400 px wide.

    python scripts/page_screenshot.py SITE/index.html docs/leaderboard-page.png [--height 1800] [--unfold music]

Uses the Debian `chromium` and `chromium-driver` through selenium, so nothing is downloaded;
`chromium()` is also the browser of tests/leaderboard/test_browser.py.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

WIDTH, HEIGHT = 1400, 1000
BINARY = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)


@contextmanager
def chromium(width: int = WIDTH, height: int = HEIGHT) -> Iterator[object]:
    """A headless Chromium selenium driver with a fresh profile and no network services."""
    if not (BINARY and DRIVER):
        raise SystemExit("headless Chromium is absent: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = BINARY
    profile = tempfile.mkdtemp(prefix="earbench-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                 f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Path, png: Path, height: int = HEIGHT, unfold: tuple[str, ...] = ()) -> None:
    """The top `height` px of `page` (an index.html) at 1400 px wide, into `png`, with the main
    table's column groups `unfold` (domains, or `details`) folded out."""
    with chromium(WIDTH, height) as driver:
        driver.get(page.resolve().as_uri())
        for group in unfold:
            buttons = driver.find_elements("css selector", f'#leaderboard button.fold[data-group="{group}"]')
            if not buttons:
                raise SystemExit(f"{page}: the table has no column group {group!r}")
            buttons[0].click()
        png.parent.mkdir(parents=True, exist_ok=True)
        if not driver.save_screenshot(str(png)):
            raise SystemExit(f"{png}: Chromium did not save the screenshot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="an index.html written by `earbench leaderboard --out`")
    parser.add_argument("png", type=Path, help="where to write the PNG")
    parser.add_argument("--height", type=int, default=HEIGHT, help=f"viewport height in px (default {HEIGHT})")
    parser.add_argument("--unfold", action="append", default=[], metavar="GROUP",
                        help="fold out this column group of the main table first (speech, environment, music, details)")
    args = parser.parse_args()
    if not args.page.is_file():
        raise SystemExit(f"{args.page}: no such page")
    screenshot(args.page, args.png, args.height, tuple(args.unfold))
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
