"""Streaming against Qwen (the fake DashScope server): text arrives piece by piece, Stop, "Qwen busy"."""

from __future__ import annotations

import time

import pytest

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


def send(browser, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    browser.wait("[data-testid=composer]").send_keys(text, Keys.ENTER)


def test_answer_streams_in_and_stop_keeps_what_arrived(qwen_browser, fake_dashscope, two_tenants):
    from tests.fakes.fake_dashscope import FakeReply

    browser = qwen_browser
    pieces = [f"第{i}段分析结果。" for i in range(1, 31)]
    fake_dashscope.script(FakeReply(chunks=pieces, chunk_interval_s=0.25))
    browser.login(two_tenants["a_users"]["member"].email, PASSWORD)
    send(browser, "逐段告诉我结果")
    body = "[data-testid=assistant-message].is-streaming [data-testid=answer-body]"
    browser.wait_text(body, "第2段")
    partial = browser.find(body).text
    assert "第30段" not in partial  # it is still arriving
    browser.wait_text(body, "第4段")
    assert browser.find("[data-testid=stop]").is_displayed() and not browser.find("[data-testid=send]").is_displayed()
    assert browser.find("[data-testid=assistant-message] .badge").text == "qwen-turbo"
    browser.screenshot("chat-streaming")
    browser.click("[data-testid=stop]")
    browser.wait("[data-testid=badge-interrupted]")
    stopped = browser.find("[data-testid=answer-body]").text
    assert "第4段" in stopped and "第30段" not in stopped
    browser.wait("[data-testid=send]")
    # The server kept the part that was generated, marked as interrupted.
    time.sleep(1.5)
    browser.d.refresh()
    browser.ready()
    browser.wait("[data-testid=assistant-message] [data-testid=badge-interrupted]")
    assert "第4段" in browser.find("[data-testid=answer-body]").text


def test_qwen_busy_is_explained_and_retry_works(qwen_browser, fake_dashscope, two_tenants):
    from tests.fakes.fake_dashscope import FakeError, FakeReply

    browser = qwen_browser
    fake_dashscope.script(FakeError(status=429, code="Throttling.RateQuota"), FakeReply(text="现在可以了。"))
    browser.login(two_tenants["a_users"]["member"].email, PASSWORD)
    send(browser, "压力正常吗？")
    card = browser.wait("[data-testid=chat-error]")
    assert card.get_attribute("data-code") == "llm_busy"
    assert "繁忙" in card.text
    browser.screenshot("chat-qwen-busy")
    browser.find("button", card).click()
    browser.wait_text("[data-testid=assistant-message] [data-testid=answer-body]", "现在可以了。")
    assert not browser.find_all("[data-testid=chat-error]")
    assert len(browser.find_all("[data-testid=user-message]")) == 1
