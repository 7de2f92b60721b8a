"""Result views per analysis kind, the XLSX export and the print page, in headless Chromium (issue 20)."""

from __future__ import annotations

import io
import re
import tempfile
import time
from pathlib import Path

import openpyxl
import pytest
import requests
import wntr

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser

NET3 = Path(wntr.__file__).resolve().parent / "library" / "networks" / "Net3.inp"
# kind → (form values, a text the view must show in Chinese)
KINDS = {
    "pipe_criticality": ({"max_pipes": "6"}, "管段关键性排名"),
    "fire_flow": ({"max_hydrants": "6"}, "消火栓校核结果"),
    "what_if": ({"demand_multiplier": "1.5"}, "现状与方案对比"),
    "leak_scenario": ({"area_m2": "0.005"}, "压力受影响节点"),
    "water_age": ({}, "节点平均水龄"),
    "resilience": ({}, "水泵能耗"),
    "topology": ({}, "单一通道"),
}


@pytest.fixture
def net3(browser, factory):
    """A member of a tenant with Net3 imported, signed in; yields (network id, API headers)."""
    tenant = factory.tenant("管网报告所", plan="pro")
    user = factory.user(tenant, role="member")
    headers = factory.headers(user)
    resp = requests.post(
        browser.base + "/api/networks/import",
        json={"example": "Net3", "name": "演示管网 Net3"},
        headers=headers,
        timeout=60,
    )
    assert resp.status_code == 201, resp.text
    browser.login(user.email, PASSWORD)
    return resp.json()["network"]["id"], headers


def _lowest_pressure_junction():
    wn = wntr.network.WaterNetworkModel(str(NET3))
    pressure = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(Path(tempfile.mkdtemp()) / "ref")).node["pressure"]
    minimum = pressure[wn.junction_name_list].min()
    return minimum.idxmin(), float(minimum.min())


def test_hydraulic_view_from_the_assistants_link(browser, net3):
    network_id, _headers = net3
    node, lowest = _lowest_pressure_junction()
    browser.open(f"/networks?network={network_id}&analysis=hydraulic#map")
    browser.ready()
    view = browser.wait("[data-testid=result-view][data-kind=hydraulic]", timeout=90)
    first = browser.find("[data-testid=findings] li", view)
    assert "finding-critical" in first.get_attribute("class")
    assert f"节点 {node}" in first.text and "负压" in first.text and f"{abs(lowest):.2f}".rstrip("0") in first.text
    tiles = browser.find("[data-testid=kpis]", view).text
    assert "最低压力" in tiles and "低压节点" in tiles
    table = browser.find("[data-testid=table-junction_pressure]", view)
    assert [th.text for th in browser.find_all("thead th", table)][:2] == ["节点", "最低压力 (m)"]
    assert browser.find("tbody tr td", table).text == node  # worst first
    assert len(browser.find_all("tbody tr", table)) == 15  # paginated
    search = table.find_element("xpath", "ancestor::section[1]//input[@type='search']")
    search.send_keys("601")
    browser.wait_for(lambda d: [td.text for td in browser.find_all("tbody tr td:first-child", table)] == ["601"])
    browser.wait(".result-map .legend canvas", timeout=30)
    assert "最低压力" in browser.find(".result-map .legend").text
    browser.wait_for(lambda d: len(browser.find_all(".result-chart canvas", view)) == 2)
    browser.wait_for(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('.result-chart canvas')].every((c) => window.Chart && Chart.getChart(c))"
        ),
        timeout=60,
    )
    labels = browser.js(
        "return Chart.getChart(document.querySelector('.result-chart canvas')).data.datasets.map((d) => d.label)"
    )
    assert labels[0] == node and len(labels) == 5
    browser.assert_no_horizontal_clipping()
    browser.screenshot("result-hydraulic")


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_analysis_has_its_own_view(browser, net3, kind):
    network_id, _headers = net3
    browser.open(f"/networks/{network_id}")
    browser.ready()
    browser.wait("[data-testid=network-summary]", timeout=30)
    values, expected = KINDS[kind]
    browser.wait(".legend canvas", timeout=60)  # the network map (and so the element names) arrived
    if kind == "leak_scenario":
        browser.js(
            "const s = document.querySelector('[data-testid=analysis-kind]'); s.value = 'leak_scenario';"
            "s.dispatchEvent(new Event('change'));"
        )
        browser.wait_for(
            lambda d: d.execute_script("return document.querySelectorAll('select[name=junction] option').length") > 0,
            timeout=30,
        )
        browser.js("document.querySelector('select[name=junction]').value = '10'")
    view = browser.run_analysis(kind, values)
    assert expected in view.text
    assert browser.find_all("[data-testid=kpis] .kpi", view)
    browser.wait(".result-map .legend span", timeout=30)
    browser.assert_no_horizontal_clipping()
    if kind == "fire_flow":
        legend = browser.find(".result-map .legend").text
        assert "通过" in legend and "不通过" in legend
        rows = browser.find_all("[data-testid=table-hydrants] tbody tr", view)
        passes = [r.find_elements("css selector", "td")[1].text for r in rows]
        assert passes == sorted(passes, key=lambda v: v == "是")  # failing hydrants first
    if kind == "pipe_criticality":
        counts = [
            int(r.find_elements("css selector", "td")[3].text)
            for r in browser.find_all("[data-testid=table-ranking] tbody tr", view)
        ]
        assert counts == sorted(counts, reverse=True) and counts[0] > 0
    browser.screenshot(f"result-{kind}")


def test_export_and_print_page(browser, net3):
    network_id, headers = net3
    downloads = tempfile.mkdtemp(prefix="hydronet-downloads-")
    browser.d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    browser.open(f"/networks/{network_id}")
    browser.ready()
    browser.wait("[data-testid=network-summary]", timeout=30)
    view = browser.run_analysis("fire_flow", {"max_hydrants": "5"})
    browser.find("[data-testid=export-xlsx]", view).click()
    deadline = time.time() + 30
    files = []
    while time.time() < deadline:
        files = [p for p in Path(downloads).iterdir() if p.suffix == ".xlsx"]
        if files:
            break
        time.sleep(0.3)
    assert files, "no workbook downloaded"
    book = openpyxl.load_workbook(io.BytesIO(files[0].read_bytes()))
    assert book.sheetnames == ["摘要", "消火栓校核结果"]
    assert [c.value for c in book["消火栓校核结果"][1]][:3] == ["消火栓节点", "通过", "余压 (m)"]
    assert book["消火栓校核结果"].max_row == 6

    report_href = browser.find("[data-testid=report-link]", view).get_attribute("href")
    browser.d.get(report_href)
    browser.ready()
    title = browser.wait("[data-testid=report-title]", timeout=60)
    assert "演示管网 Net3" in title.text and "消防流量" in title.text
    browser.wait("[data-testid=settings-table]")
    assert "消防流量 (m³/s)" in browser.find("[data-testid=settings-table]").text
    browser.wait("[data-testid=findings]")
    browser.wait(".result-map .legend span", timeout=30)
    browser.screenshot("report")
    browser.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find("[data-testid=report-print]").is_displayed()
        assert not browser.find(".topbar").is_displayed()
        browser.screenshot("report-print")
        pdf = browser.d.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})
        assert len(pdf["data"]) > 10000
    finally:
        browser.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    audit = requests.get(browser.base + "/api/tenant/usage", headers=headers, timeout=30)
    assert audit.status_code == 200  # the member's session is still good after the downloads


def test_the_view_reads_in_english(browser, net3):
    network_id, _headers = net3
    browser.js("localStorage.setItem('hn_lang', 'en')")
    browser.open(f"/networks?network={network_id}&analysis=hydraulic")
    browser.ready()
    view = browser.wait("[data-testid=result-view][data-kind=hydraulic]", timeout=90)
    assert "Lowest pressure" in browser.find("[data-testid=kpis]", view).text
    assert "has negative pressure" in browser.find("[data-testid=findings] li", view).text
    headers = [th.text for th in browser.find_all("[data-testid=table-junction_pressure] thead th", view)]
    assert headers[:2] == ["Junction", "Minimum pressure (m)"]
    assert not any(re.search(r"[\u4e00-\u9fff]", el.text) for el in browser.find_all(".kpi, .finding, thead th", view))
    browser.assert_no_horizontal_clipping()
    browser.screenshot("result-hydraulic-en")
