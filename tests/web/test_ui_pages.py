"""The browser UI's pages and assets, without a browser: CSP-safe markup, translations, vendored libraries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.constants import ROOT

TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
PAGES = [
    "/login",
    "/register",
    "/reset-password",
    "/accept-invite",
    "/chat",
    "/chat/some-id",
    "/networks",
    "/networks/some-id/report",
    "/networks/some-id",
    "/usage",
    "/settings",
    "/admin",
]
# Every prefix a translation key may start with; a quoted "prefix.key" in the UI's code is a key.
NAMESPACES = (
    "app|lang|nav|common|login|register|reset|auth|field|errors|chat|tool|result|quota|usage|plan|net|"
    "map|summary|analysis|param|variable|job|users|role|keys|scope|mcp|wechat|account|settings|admin|"
    "audit|status|table|severity|view|source|report"
)
KEY_RE = re.compile(rf"""["'`]((?:{NAMESPACES})\.[a-z0-9_:]+)["'`]""")


def dictionary(lang: str) -> dict[str, str]:
    return json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def ui_sources() -> list[Path]:
    return sorted(TEMPLATES.glob("*.html")) + sorted((STATIC / "js").rglob("*.js"))


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_with_the_csp(client, path):
    resp = client.get(path)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-CN"' in html and "HydroNet" in html


def test_root_goes_to_the_chat(client):
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/chat")


def test_language_cookie_renders_english(client):
    client.set_cookie("hn_lang", "en")
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en"' in html and "Sign in" in html and "登录" not in html
    client.set_cookie("hn_lang", "xx")  # unknown: Chinese
    assert '<html lang="zh-CN"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_inline_script_or_style(template):
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script> (CSP forbids it)"
    assert "<style" not in text and not re.search(r"\sstyle=", text), "inline style (CSP forbids it)"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler (CSP forbids it)"


def test_scripts_never_inject_html_or_use_eval():
    for path in (STATIC / "js").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        for pattern in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert pattern not in text, f"{path.relative_to(ROOT)} uses {pattern}"
        assert "localStorage.setItem" not in text or path.name == "i18n.js", f"{path.name} stores data in localStorage"


def test_both_languages_have_the_same_keys():
    zh, en = dictionary("zh"), dictionary("en")
    assert set(zh) == set(en)
    assert all(value.strip() for value in [*zh.values(), *en.values()])


def test_every_key_the_ui_uses_is_translated():
    zh = dictionary("zh")
    used = {m.group(1) for path in ui_sources() for m in KEY_RE.finditer(path.read_text(encoding="utf-8"))}
    assert len(used) > 300
    assert sorted(used - set(zh)) == []


@pytest.mark.parametrize(
    "lib, files",
    [
        ("marked", ["marked.esm.js", "LICENSE"]),
        ("dompurify", ["purify.es.js", "LICENSE"]),
        ("chartjs", ["chart.umd.min.js", "LICENSE.md"]),
    ],
)
def test_vendored_libraries_ship_with_their_licences(client, lib, files):
    for name in files:
        assert (STATIC / "vendor" / lib / name).is_file()
    resp = client.get(f"/static/vendor/{lib}/{files[0]}")
    assert resp.status_code == 200 and "javascript" in resp.mimetype


def test_module_scripts_are_served_as_javascript(client):
    for path in (STATIC / "js").rglob("*.js"):
        resp = client.get("/static/" + path.relative_to(STATIC).as_posix())
        assert resp.status_code == 200 and "javascript" in resp.mimetype
        resp.close()


def test_imports_point_at_existing_modules():
    for path in (STATIC / "js").rglob("*.js"):
        for target in re.findall(r'from\s+"(\.[^"]+)"', path.read_text(encoding="utf-8")):
            assert (path.parent / target).resolve().is_file(), f"{path.name} imports missing {target}"


def test_browser_routes_get_the_styled_error_pages(client, app, monkeypatch):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    page = missing.get_data(as_text=True)
    assert "页面不存在" in page and "/static/css/app.css" in page and "Not Found" not in page
    client.set_cookie("hn_lang", "en")
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)
    assert client.get("/api/no-such-thing").get_json()["error"]["code"] == "not_found"
    assert client.get("/static/no-such.js").status_code == 404

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.view_functions, "ui.usage", broken)
    failed = client.get("/usage")
    assert failed.status_code == 500 and "Something went wrong" in failed.get_data(as_text=True)
    assert "boom" not in failed.get_data(as_text=True) and "Traceback" not in failed.get_data(as_text=True)
