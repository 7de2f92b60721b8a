"""The first ten minutes in the browser: no 401 noise signed out, the forced password change, the audit
log in words, the styled error page (issue 20)."""

from __future__ import annotations

import pytest

from hydronet.kernel.db import db
from hydronet.kernel.tenancy import all_tenants
from hydronet.models import User
from hydronet.web.seed import DEMO_EMAIL, DEMO_NETWORK_NAME, DEMO_PASSWORD, seed
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser
# Selenium is optional (scripts/install_browser.sh): this module must import without it, so its
# names are spelt out rather than imported (the driver fixture skips or fails when it is missing).
BY_CSS = "css selector"
BY_LINK = "partial link text"
ENTER = "\ue007"


def test_signed_out_page_load_makes_no_failed_request(browser):
    browser.open("/chat")
    browser.wait_url("/login")
    browser.wait("#login-form")
    severe = [line for line in browser.console() if line.startswith("SEVERE")]
    assert not severe, severe  # in particular no 401 from probing /api/auth/web/refresh


def test_password_change_required_locks_the_browser_to_the_form(browser, factory, app, platform_admin):
    with app.app_context(), all_tenants(db.session):
        db.session.get(User, platform_admin.id).password_change_required = True
        db.session.commit()
    browser.login(platform_admin.email, PASSWORD, expect="/settings")
    browser.wait("[data-testid=password-form]")
    assert not [a for a in browser.find_all("[data-nav]") if a.is_displayed()]
    assert len(browser.find_all("[role=tab]")) == 1  # the account tab only
    browser.open("/networks")
    browser.wait_url("/settings")
    browser.wait("[data-testid=password-form]")
    browser.screenshot("password-change-required")
    form = browser.find("[data-testid=password-form]")
    browser.fill(form, old_password=PASSWORD, new_password="Brand-New-Pass-2026", confirm="Brand-New-Pass-2026")
    form.find_element(BY_CSS, "button[type=submit]").click()
    browser.wait_url("/chat", timeout=30)
    browser.ready()
    assert browser.find("[data-nav=networks]").is_displayed()


def test_audit_log_reads_in_words(browser, factory, two_tenants):
    owner = two_tenants["a_users"]["owner"]
    browser.login(owner.email, PASSWORD)
    browser.open("/settings#audit")
    browser.ready()
    table = browser.wait("[data-testid=audit-table]")
    browser.wait_for(lambda d: browser.find_all("[data-testid=audit-action]"))
    actions = [a.text for a in browser.find_all("[data-testid=audit-action]", table)]
    assert "登录" in actions
    assert all("." not in a for a in actions), actions  # labels, not action codes
    targets = [row.find_elements(BY_CSS, "td")[3].text for row in browser.find_all("tbody tr", table)]
    assert any(owner.email in t for t in targets)
    assert browser.find("[data-testid=audit-hide-reads]").is_selected()
    browser.screenshot("audit-log")


def test_a_missing_page_is_styled(browser):
    browser.open("/no-such-page")
    title = browser.wait("[data-testid=error-title]")
    assert title.text == "页面不存在"
    assert browser.find("a.btn-primary").get_attribute("href").endswith("/chat")
    browser.screenshot("error-404")


def test_the_demo_accounts_first_question_leads_to_the_result_map(browser, app):
    with app.app_context():
        seed("admin@hydronet.example.com", "Admin-Pass-2026!", demo=True)
    browser.login(DEMO_EMAIL, DEMO_PASSWORD)
    box = browser.wait("[data-testid=composer]")
    box.send_keys("你好，帮我分析一下水网系统", ENTER)
    browser.wait("[data-testid=assistant-message] .msg-actions button", timeout=90)
    answer = browser.find("[data-testid=answer-body]")
    assert DEMO_NETWORK_NAME in answer.text and "负压" in answer.text and "建议下一步" in answer.text
    link = answer.find_element(BY_LINK, "在地图上查看")
    browser.screenshot("chat-brief")
    browser.open(link.get_attribute("href").replace(browser.base, ""))
    browser.ready()
    view = browser.wait("[data-testid=result-view][data-kind=hydraulic]", timeout=90)
    assert "finding-critical" in browser.find("[data-testid=findings] li", view).get_attribute("class")
    browser.wait(".result-map .legend canvas", timeout=30)
    browser.screenshot("brief-link-result", full_page=False)
