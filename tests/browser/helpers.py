"""A thin helper over Selenium for the browser tests: waits, forms, screenshots."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC  # noqa: N812 (Selenium's own spelling)
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 15


class Browser:
    """The page under test at ``base`` (the gunicorn URL)."""

    def __init__(self, driver, base: str, shots: Path) -> None:
        self.d = driver
        self.base = base
        self.shots = shots

    def open(self, path: str) -> None:
        """Navigate, once the current page has finished loading (a navigation started by the
        page itself, such as logout's redirect, must not race this one)."""
        self.settle()
        self.d.get(self.base + path)

    def settle(self) -> None:
        self.wait_for(lambda d: d.execute_script("return document.readyState") == "complete")

    def wait(self, css: str, timeout: float = WAIT_S) -> WebElement:
        """The first visible element matching ``css``."""
        return WebDriverWait(self.d, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def wait_text(self, css: str, text: str, timeout: float = WAIT_S) -> WebElement:
        WebDriverWait(self.d, timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
        return self.d.find_element(By.CSS_SELECTOR, css)

    def wait_url(self, fragment: str, timeout: float = WAIT_S) -> None:
        WebDriverWait(self.d, timeout).until(EC.url_contains(fragment))
        self.settle()

    def wait_for(self, condition, timeout: float = WAIT_S):
        """Wait until ``condition(driver)`` is truthy; returns its value."""
        return WebDriverWait(self.d, timeout).until(condition)

    def find(self, css: str, root=None) -> WebElement:
        return (root or self.d).find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str, root=None) -> list[WebElement]:
        return (root or self.d).find_elements(By.CSS_SELECTOR, css)

    def click(self, css: str) -> None:
        self.wait(css).click()

    def fill(self, form: WebElement, **values: str) -> None:
        for name, value in values.items():
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)

    def login(self, email: str, password: str, *, expect: str = "/chat") -> None:
        """Sign in through the login page and wait for the page the app sends us to."""
        self.open("/login")
        form = self.wait("#login-form")
        self.fill(form, email=email, password=password)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        if expect:
            self.wait_url(expect)
            self.ready()

    def ready(self) -> None:
        """The page's script has restored the session and drawn its header."""
        self.wait_for(lambda d: d.execute_script("return document.body.classList.contains('ready')"))

    def js(self, script: str, *args):
        return self.d.execute_script(script, *args)

    def cookies(self) -> dict[str, dict]:
        """Every cookie of the browser, whatever its path (WebDriver's own call shows the current path's only)."""
        return {c["name"]: c for c in self.d.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]}

    def console(self) -> list[str]:
        return [f"{e['level']} {e['message']}" for e in self.d.get_log("browser")]

    def console_errors(self) -> list[str]:
        """Severe console messages, minus the expected 401 of restoring a session that does not exist."""
        return [
            line
            for line in self.console()
            if line.startswith("SEVERE") and "/api/auth/web/refresh" not in line and "favicon" not in line
        ]

    def screenshot(self, name: str, settle_s: float = 0.3, full_page: bool = True) -> Path:
        """Save test-artifacts/screenshots/<name>.png (the whole page, not only the viewport)."""
        self.shots.mkdir(parents=True, exist_ok=True)
        time.sleep(settle_s)  # let charts and fonts finish painting
        path = self.shots / f"{name}.png"
        if not full_page:
            self.d.save_screenshot(str(path))
            return path
        self.d.execute_script("window.scrollTo(0, 0)")
        size = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.d.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def assert_no_horizontal_clipping(self) -> None:
        """At the current width nothing scrolls sideways and no part of the result view sticks out of it."""
        overflow = self.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px at 1280 px"
        clipped = self.js("""
            const view = document.querySelector('[data-testid=result-view]');
            const right = view.getBoundingClientRect().right + 1;
            return [...view.querySelectorAll('.kpi, .finding, .result-chart, .map-wrap')]
              .filter((el) => el.getBoundingClientRect().right > right).length;""")
        assert clipped == 0

    def run_analysis(self, kind: str, values: dict[str, str]) -> WebElement:
        """On a network's page: choose the analysis, fill its form, run it and wait for its result view."""
        self.js(
            "const s = document.querySelector('[data-testid=analysis-kind]');"
            "s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
            kind,
        )
        for name, value in values.items():
            field = self.find(f"input[name={name}]")
            field.clear()
            field.send_keys(value)
        self.click("[data-testid=run-analysis]")
        return self.wait(f"[data-testid=result-view][data-kind={kind}]", timeout=120)
