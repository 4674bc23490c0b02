"""The statistics page in a browser: at a desk and on a phone, axe-clean, charts named, the
numbers in tables beside them, and a CSV download that a spreadsheet (and Python) can read."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.browser.helpers import AxeReport, log_in, submit


def test_the_statistics_page_at_both_widths(scene, new_page):  # type: ignore[no-untyped-def]
    desktop, phone = new_page("desktop", locale="nb", axe=True), new_page("phone", locale="nb",
                                                                        axe=True)
    axe = AxeReport()
    for page in (desktop, phone):
        log_in(page, "admin@example.no")
        page.goto("/staff/statistics/")
        assert page.locator("h1").inner_text() == "Statistikk"
        charts = page.locator("svg.chart[role=img]")
        assert charts.count() == 4
        for n in range(charts.count()):
            title = charts.nth(n).get_attribute("aria-labelledby") or ""
            assert "title" in title and "desc" in title
        assert page.locator("table#table-branches tfoot th").inner_text() == "Hele fylket"
        # the period picker works without JavaScript: a plain GET form
        page.locator("#period").select_option("year")
        submit(page, page.locator("main form.stats-period button[type=submit]").click)
        assert "period=year" in page.url
    axe.scan("statistics", desktop, phone)
    axe.reflow("statistics", phone)
    with desktop.expect_download() as download:
        desktop.locator("a[href*='table=branches']").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Fra", "Til", "Bibliotek"] and rows[-1][2] == "Hele fylket"
    axe.check()
