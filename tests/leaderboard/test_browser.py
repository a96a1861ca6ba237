"""index.html in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`)
driven by selenium through /usr/bin/chromedriver, so nothing is downloaded."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.helpers import run_cli
from tests.support.records import write_record, write_runs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and DRIVER),
                       reason="headless Chromium is absent: apt-get install chromium chromium-driver"),
]


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="earbench-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(tmp_path, capsys) -> Path:
    root = tmp_path / "results"
    write_runs(root, "logmel", "mini-kws", [0.50, 0.52, 0.48], clips_per_s=400.0)
    write_runs(root, "eat", "mini-kws", [0.80, 0.82, 0.78], layer="weighted", layer_weights=[0.2, 0.8],
               params=5_000_000, clips_per_s=50.0)
    write_runs(root, "byol", "mini-kws", [0.60, 0.62, 0.61], params=1_000_000, clips_per_s=900.0)
    write_record(root, "partial", "other-task", 0.9)
    (root / "broken.json").write_text("{")
    out = tmp_path / "site"
    code, _, _ = run_cli(capsys, "leaderboard", "--results", str(root), "--out", str(out))
    assert code == 0
    return out / "index.html"


def column(driver, index: int) -> list[str]:
    return [row.find_elements("tag name", "td")[index].text
            for row in driver.find_elements("css selector", "#leaderboard tbody tr")]


def test_page_table_sorting_and_plots(browser, page):
    browser.get(page.as_uri())
    assert browser.title == "earbench leaderboard"
    headers = [th.text for th in browser.find_elements("css selector", "#leaderboard th")]
    assert headers[:3] == ["rank [95% interval]", "model", "overall"]
    assert column(browser, 1) == ["eat", "byol", "logmel", "partial"]  # ranked best first, unranked last

    params = browser.find_elements("css selector", "#leaderboard th")[headers.index("params")]
    params.click()
    assert params.get_attribute("aria-sort") == "ascending"
    assert column(browser, 1) == ["logmel", "partial", "byol", "eat"]  # 0, 0, 1M, 5M (stable)
    params.click()
    assert params.get_attribute("aria-sort") == "descending"
    assert column(browser, 1)[:2] == ["eat", "byol"]

    overall = browser.find_elements("css selector", "#leaderboard th")[2]
    overall.click()  # ascending; the unranked entry (no overall) stays last
    assert column(browser, 1) == ["logmel", "byol", "eat", "partial"]

    model = browser.find_elements("css selector", "#leaderboard th")[1]
    model.click()
    assert column(browser, 1) == ["byol", "eat", "logmel", "partial"]

    for fid in ("plot-domains", "plot-throughput", "plot-layers"):
        svg = browser.find_element("css selector", f"#{fid} svg")
        assert svg.size["width"] > 100 and svg.size["height"] > 100, fid
    assert "broken.json" in browser.find_element("id", "problems").text
    assert "partial" in browser.find_element("id", "notes").text
