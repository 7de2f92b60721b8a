"""The analysis-defaults settings tab, the sources the result views show, and the pressure-change map overlay."""

from __future__ import annotations

import pytest
import requests
from selenium.webdriver.common.by import By

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def utility(browser, factory):
    """A tenant with an admin and a member, and Net3 imported; yields (tenant, admin, member, network id)."""
    tenant = factory.tenant("默认值水务", plan="pro")
    admin, member = factory.user(tenant, role="admin"), factory.user(tenant, role="member")
    resp = requests.post(
        browser.base + "/api/networks/import",
        json={"example": "Net3", "name": "演示管网 Net3"},
        headers=factory.headers(member),
        timeout=60,
    )
    assert resp.status_code == 201, resp.text
    return tenant, admin, member, resp.json()["network"]["id"]


def _form_value(browser, name):
    return browser.find(f"[data-testid=default-{name}]").get_attribute("value")


def test_an_admin_changes_the_defaults_and_results_name_them(browser, utility):
    _tenant, admin, member, network_id = utility
    browser.login(admin.email, PASSWORD)
    browser.open("/settings#analysis")
    browser.ready()
    form = browser.wait("[data-testid=defaults-form]", timeout=30)
    assert _form_value(browser, "storeys") == "6" and "28 m" in browser.find("[data-testid=defaults-head]").text
    assert "GB 50013-2018" in form.text and "GB 55036-2022" in form.text
    storeys = browser.find("[data-testid=default-storeys]")
    storeys.clear()
    storeys.send_keys("41")
    browser.click("[data-testid=defaults-save]")
    error = browser.wait("[data-testid=defaults-form] .field-error")
    assert "40" in error.text
    storeys = browser.find("[data-testid=default-storeys]")
    storeys.clear()
    storeys.send_keys("3")
    browser.click("[data-testid=defaults-save]")
    browser.wait_text("[data-testid=defaults-head]", "16 m")
    changed = browser.find_all("[data-testid=defaults-form] tr[data-changed=true]")
    assert len(changed) == 1 and "已修改" in changed[0].text
    browser.screenshot("settings-analysis-defaults")

    browser.click("[data-testid=logout]")
    browser.wait_url("/login")
    browser.login(member.email, PASSWORD)
    browser.open(f"/networks?network={network_id}&analysis=hydraulic")
    browser.ready()
    view = browser.wait("[data-testid=result-view][data-kind=hydraulic]", timeout=90)
    rows = {
        row.find_element(By.CSS_SELECTOR, "th").text: row
        for row in browser.find_all("[data-testid=settings-table] tbody tr", view)
    }
    threshold = next(row for label, row in rows.items() if label.startswith("服务压力下限"))
    cells = threshold.find_elements(By.CSS_SELECTOR, "td")
    assert cells[0].text == "16" and "租户设置" in cells[1].text
    assert "3 storeys → 16 m" in cells[1].get_attribute("title")
    browser.assert_no_horizontal_clipping()


def test_what_if_map_shows_the_pressure_change_with_its_legend(browser, utility):
    _tenant, _admin, member, network_id = utility
    browser.login(member.email, PASSWORD)
    browser.open(f"/networks/{network_id}")
    browser.ready()
    browser.wait("[data-testid=network-summary]", timeout=30)
    browser.wait(".legend canvas", timeout=60)
    view = browser.run_analysis("what_if", {"demand_multiplier": "1.5"})
    legend = browser.wait_text(".result-map .legend", "压力变化", timeout=30)
    assert "m" in legend.text
    table = browser.find("[data-testid=table-pressure_change]", view)
    changes = [
        float(r.find_elements(By.CSS_SELECTOR, "td")[3].text.replace("−", "-").replace(",", ""))
        for r in browser.find_all("tbody tr", table)
    ]
    assert changes and changes == sorted(changes) and changes[0] < 0
    browser.assert_no_horizontal_clipping()
    browser.screenshot("result-what_if-pressure-change")
