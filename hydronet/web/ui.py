"""The browser UI: HTML shells from templates/, behaviour in static/js (plain ES modules).

Pages carry no data and no credentials: each page's script restores the
browser session (/api/auth/web/refresh) and then calls the JSON API.  Text is
rendered in the language of the ``hn_lang`` cookie (Chinese by default) from
static/i18n/<lang>.json — the same dictionaries the scripts use — so the first
paint is already in the right language.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

bp = Blueprint("ui", __name__)

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "hn_lang"

# path → (template, page title key, navigation section)
PAGES: dict[str, tuple[str, str, str]] = {
    "/login": ("login.html", "login.title", ""),
    "/register": ("register.html", "register.title", ""),
    "/reset-password": ("reset_password.html", "reset.title", ""),
    "/accept-invite": ("reset_password.html", "reset.invite_title", ""),
    "/chat": ("chat.html", "nav.chat", "chat"),
    "/networks": ("networks.html", "nav.networks", "networks"),
    "/report": ("report.html", "report.title", "report"),
    "/usage": ("usage.html", "nav.usage", "usage"),
    "/settings": ("settings.html", "nav.settings", "settings"),
    "/admin": ("admin.html", "nav.admin", "admin"),
}
ERROR_PAGES = (404, 405, 500)


@lru_cache(maxsize=8)
def _dictionary(static_folder: str, lang: str) -> dict[str, str]:
    """The flattened translation dictionary of one language."""
    with open(Path(static_folder) / "i18n" / f"{lang}.json", encoding="utf-8") as fh:
        return json.load(fh)


def current_language() -> str:
    """The language the browser chose (cookie mirrored from localStorage), else Chinese."""
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def translator(lang: str):
    """``t(key)``: the text of ``key`` in ``lang`` (Chinese, then the key itself, as fallbacks)."""
    folder = current_app.static_folder or ""
    table = _dictionary(folder, lang)
    fallback = _dictionary(folder, DEFAULT_LANGUAGE)

    def t(key: str) -> str:
        return table.get(key) or fallback.get(key) or key

    return t


def _render(path: str, **context: Any):
    template, title_key, section = PAGES[path]
    lang = current_language()
    resp = current_app.make_response(
        render_template(template, lang=lang, t=translator(lang), title_key=title_key, section=section, **context)
    )
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def error_page(status: int):
    """The styled error page of a browser route (404, 405, 500; others get a generic text)."""
    which = str(status) if status in ERROR_PAGES else "other"
    lang = current_language()
    resp = current_app.make_response(
        (
            render_template(
                "error.html",
                lang=lang,
                t=translator(lang),
                title_key=f"errorpage.title_{which}",
                section="",
                lead_key=f"errorpage.lead_{which}",
                status=status,
            ),
            status,
        )
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the logo."""
    return redirect(url_for("static", filename="img/logo.svg"), 301)


@bp.get("/")
def index():
    """The start page is the chat (the page's script sends strangers to /login)."""
    return redirect(url_for("ui.chat"))


@bp.get("/login")
def login():
    """Sign-in page."""
    return _render("/login")


@bp.get("/register")
def register():
    """Registration page (a new organisation and its owner)."""
    return _render("/register")


@bp.get("/reset-password")
def reset_password():
    """Set a new password with a one-time reset token (?token=…)."""
    return _render("/reset-password", invite=False)


@bp.get("/accept-invite")
def accept_invite():
    """Accept an invitation (?token=…) by choosing a password."""
    return _render("/accept-invite", invite=True)


@bp.get("/chat")
@bp.get("/chat/<conversation_id>")
def chat(conversation_id: str | None = None):
    """Conversations with the assistant."""
    return _render("/chat")


@bp.get("/networks")
@bp.get("/networks/<network_id>")
def networks(network_id: str | None = None):
    """Water networks: upload, examples, map, analyses."""
    return _render("/networks")


@bp.get("/networks/<network_id>/report")
def analysis_report(network_id: str):
    """The print-ready report of one analysis (?kind=&params= or ?job=)."""
    return _render("/report")


@bp.get("/usage")
def usage():
    """Quotas and the last 30 days of usage."""
    return _render("/usage")


@bp.get("/settings")
def settings():
    """Organisation settings: users, API keys, MCP servers, WeChat, password."""
    return _render("/settings")


@bp.get("/admin")
def admin():
    """The platform administrator's console."""
    return _render("/admin")
