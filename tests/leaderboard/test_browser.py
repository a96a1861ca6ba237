"""index.html in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`)
driven by selenium through /usr/bin/chromedriver, so nothing is downloaded. The page is
rendered from boards like a benchmark's (every mini task, nine models, item intervals)."""
from __future__ import annotations

import pytest

pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")

from leaderboard import page  # noqa: E402
from scripts.page_screenshot import BINARY, DRIVER, HEIGHT, WIDTH, chromium, screenshot  # noqa: E402
from tests.support.page_boards import TASKS, boards  # noqa: E402
from tests.support.records import write_record  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BINARY and DRIVER), reason="headless Chromium is absent: apt-get install chromium "
                                                       "chromium-driver"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(the page's file, its boards): the benchmark's board with an unranked model and a broken record too."""
    tmp = tmp_path_factory.mktemp("page")
    write_record(tmp / "benchmark", "partial", "mini-kws", 0.5, clips_per_s=None)
    (tmp / "benchmark" / "broken.json").write_text("{")
    made = boards(tmp)
    path = tmp / "index.html"
    path.write_text(page.render(made))
    return path, made


@pytest.fixture(scope="module")
def browser():
    with chromium(WIDTH, HEIGHT) as driver:
        yield driver


@pytest.fixture
def shown(browser, site):
    browser.get(site[0].as_uri())
    return browser


def column(driver, index: int, table: str = "leaderboard") -> list[str]:
    return [row.find_elements("tag name", "td")[index].text
            for row in driver.find_elements("css selector", f"#{table} tbody tr")]


def header(driver, text: str, table: str = "leaderboard"):
    """The sortable header whose first line is `text`."""
    heads = driver.find_elements("css selector", f"#{table} th[data-col]")
    return next(h for h in heads if h.get_attribute("textContent").startswith(text))


def test_the_table_fits_1400_px(shown):
    width = shown.execute_script("return window.innerWidth")
    assert width == WIDTH
    assert shown.execute_script("return document.documentElement.scrollWidth") <= width
    table = shown.execute_script("return document.getElementById('leaderboard').getBoundingClientRect().right")
    assert table <= width


def test_ranked_by_overall_and_sorting(shown, site):
    main = site[1][0]
    ranked = list(main.ranked.sort_values("overall", ascending=False).index)
    assert column(shown, 1) == ranked + ["partial"]  # best first, the unranked model last
    assert shown.title == "earbench leaderboard: benchmark mini"

    overall = header(shown, "overall")
    overall.click()  # ascending; the unranked model (no overall score) stays last
    assert overall.get_attribute("aria-sort") == "ascending"
    assert column(shown, 1) == ranked[::-1] + ["partial"]
    overall.click()
    assert overall.get_attribute("aria-sort") == "descending"
    assert column(shown, 1) == ranked + ["partial"]

    header(shown, "params").click()
    by_params = list(main.entries.sort_values(["params"], kind="stable").index)  # the page's sort is stable too
    assert column(shown, 1) == by_params

    header(shown, "model").click()
    assert column(shown, 1) == sorted(main.entries.index)


def test_interval_bars(shown, site):
    main = site[1][0]
    rows = shown.find_elements("css selector", "#leaderboard tbody tr")
    for row in rows:
        bars = row.find_elements("css selector", "svg.ibar")
        entry = row.get_attribute("data-entry")
        if entry in main.ranked.index:  # a dot and its interval's whisker, drawn
            assert len(bars) == 1 and bars[0].size["width"] > 50, entry
            assert bars[0].find_elements("css selector", "line.whisker") and bars[0].find_elements("tag name",
                                                                                                      "circle")
        else:
            assert not bars, entry
    first = main.ranked.iloc[0]
    text = rows[0].find_elements("tag name", "td")[2].text
    assert text == f"{first['overall']:.1f} [{first['overall_lo']:.1f}, {first['overall_hi']:.1f}]"


def test_domain_groups_fold_out(shown, site):
    main = site[1][0]
    speech = [t for t in main.tasks if main.domains[t] == "speech"]
    assert len(speech) == 5

    def visible_tasks() -> list[str]:
        return [th.text.split("\n")[0] for th in shown.find_elements("css selector", "#leaderboard th[data-col]")
                if th.is_displayed() and th.text.split("\n")[0] in TASKS]

    assert visible_tasks() == []  # folded: 11 task columns would not fit 1400 px
    button = shown.find_element("css selector", '#leaderboard button.fold[data-group="speech"]')
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert visible_tasks() == speech
    assert int(button.find_element("xpath", "..").get_attribute("colSpan")) == 1 + len(speech)
    row = shown.find_element("css selector", '#leaderboard tbody tr[data-entry="logmel"]')
    assert sum(td.is_displayed() for td in row.find_elements("css selector", 'td[data-group="speech"]')) == 5
    kws = header(shown, "mini-kws")
    kws.click()  # a folded-out column sorts like any other
    means = main.cells.xs("mini-kws", level="task")["mean"]
    assert column(shown, 1)[:len(means)] == list(means.sort_values(kind="stable").index)
    button.click()
    assert visible_tasks() == [] and button.get_attribute("aria-expanded") == "false"


def test_figures_drill_down_notes(shown, site):
    main, other = site[1]
    for fid in ("plot-pareto", "plot-domains", "plot-layers"):
        svg = shown.find_element("css selector", f"#{fid} svg")
        assert svg.size["width"] > 300 and svg.size["height"] > 150, fid
    pareto = shown.find_element("id", "plot-pareto").get_attribute("innerHTML")
    assert "Pareto front" in pareto and all(name in pareto for name in main.ranked.index)
    domains = shown.find_element("id", "plot-domains").get_attribute("innerHTML")
    assert all(d in domains for d in ("speech", "environment", "music"))

    sections = shown.find_elements("css selector", "#drill-down details.drill")
    assert [s.get_attribute("id") for s in sections] == [f"task-{t}" for t in main.tasks]
    asr = shown.find_element("id", "task-mini-asr")
    assert not asr.find_element("tag name", "table").is_displayed()
    asr.find_element("tag name", "summary").click()
    rows = [tr.find_elements("tag name", "td") for tr in asr.find_elements("css selector", "tbody tr")]
    assert len(rows) == len(main.entries) - 1 + len(other.entries)  # "partial" did not run mini-asr
    protocols = {r[1].text for r in rows}
    assert protocols == {"benchmark mini (bilstm, layer last, default pooling)", "linear, layer last, mean"}
    scores = [float(r[2].text.split()[0]) for r in rows]
    assert scores == sorted(scores, reverse=True)  # accuracy: best first

    assert shown.find_elements("css selector", "#other-protocols table.board")
    assert "broken.json" in shown.find_element("id", "problems").text
    notes = shown.find_element("id", "notes")
    assert "partial" in notes.get_attribute("textContent")


def test_screenshot(tmp_path, site):
    png = tmp_path / "page.png"
    screenshot(site[0], png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
