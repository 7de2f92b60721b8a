"""Fixtures for the browser tests: the app under gunicorn, one headless Chromium, screenshots.

Run with ``pytest -m browser`` (scripts/install_browser.sh installs Debian's
chromium + chromium-driver and Selenium).  Selenium is pointed at
/usr/bin/chromedriver, so Selenium Manager never downloads anything.
Screenshots go to test-artifacts/screenshots/ (failures are saved there too).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.backends import REQUIRE
from tests.support.live import ROOT, free_port

CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = (1280, 860)
PHONE = (390, 844)
# Generous sign-in limits: the suite signs in many times from one address within a minute.
SERVER_ENV = {
    "RATELIMIT_LOGIN": "1000 per minute",
    "RATELIMIT_REGISTER": "1000 per minute",
    "JOBS_INLINE": "true",
    "SSE_HEARTBEAT_S": "2",
}


def _unavailable(reason: str) -> None:
    """Skip locally; in CI (HYDRONET_REQUIRE_SERVICES) a missing browser is a failure, never a silent skip."""
    if REQUIRE:
        pytest.fail(f"{reason}: run scripts/install_browser.sh")
    pytest.skip(reason)


ARTIFACTS = ROOT / "test-artifacts"


@contextmanager
def serve(backends, extra_env: dict[str, str], log_name: str) -> Iterator[str]:
    """`gunicorn -c gunicorn_config.py app_saas:app` on a free port (one worker without Redis).

    Its output goes to test-artifacts/<log_name>: a pipe nobody reads would fill up after a
    few hundred access-log lines and freeze the server.
    """
    port = free_port()
    workers = 2 if backends.redis_url else 1
    env = {
        **os.environ,
        **backends.env(),
        **SERVER_ENV,
        **extra_env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "LOG_LEVEL": "WARNING",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w", encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn_config.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "app_saas:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90  # a loaded CI machine imports WNTR and pandas slowly
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {log.name}")
            try:
                if requests.get(base + "/api/health", timeout=1).status_code in (200, 503):
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                raise RuntimeError("gunicorn did not start in 90 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)  # quick shutdown: no need to drain the browser's keep-alives
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def live_url(app, backends):
    """The app as deployed, with the offline assistant (no Qwen key)."""
    with serve(backends, {"ALIYUN_API_KEY": ""}, "browser-gunicorn.log") as base:
        yield base


@pytest.fixture(scope="session")
def qwen_url(app, backends, fake_dashscope):
    """The app with a Qwen key, talking to the fake DashScope server of tests/fakes."""
    from tests.support.constants import QWEN_TEST_KEY

    env = {
        "ALIYUN_API_KEY": QWEN_TEST_KEY,
        "DASHSCOPE_HTTP_BASE_URL": fake_dashscope.url,
        "LLM_MAX_RETRIES": "0",
        "LLM_READ_TIMEOUT_S": "10",
    }
    with serve(backends, env, "browser-gunicorn-qwen.log") as base:
        yield base


@pytest.fixture(scope="session")
def driver():
    """One headless Chromium for the whole run (a fresh profile, no network services)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed")
    if not CHROMEDRIVER.exists() or not shutil.which("chromium"):
        _unavailable("chromium and chromium-driver are not installed")
    for old in SCREENSHOTS.glob("FAILED-*"):
        old.unlink()
    profile = tempfile.mkdtemp(prefix="hydronet-chromium-")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
        "--disable-extensions",
        "--lang=zh-CN",
        f"--user-data-dir={profile}",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(driver, live_url, request):
    """The shared browser, signed out with empty storage, at desktop size; a helper around it."""
    from tests.browser.helpers import Browser

    driver.set_window_size(*DESKTOP)
    driver.get(live_url + "/static/img/logo.svg")
    driver.delete_all_cookies()
    driver.get_log("browser")  # drop what earlier tests logged
    b = Browser(driver, live_url, SCREENSHOTS)
    yield b
    console = b.console()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        b.screenshot(f"FAILED-{request.node.name}")
        (SCREENSHOTS / f"FAILED-{request.node.name}.log").write_text("\n".join(console), encoding="utf-8")
    try:
        driver.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
    except Exception:
        pass
    # DOMPurify parses hostile Markdown in an inert document; Chromium reports the inline handler
    # it saw there as blocked by the CSP (both walls working), which is not a page error.
    blocked = [
        line
        for line in console
        if ("Content Security Policy" in line or "Uncaught" in line) and "/static/vendor/dompurify/" not in line
    ]
    assert not blocked, f"the page broke its CSP or threw: {blocked}"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture
def qwen_browser(browser, qwen_url, fake_dashscope):
    """The browser helper pointed at the Qwen-configured server; the fake's script is reset."""
    fake_dashscope.clear()
    browser.base = qwen_url
    yield browser
    fake_dashscope.clear()
