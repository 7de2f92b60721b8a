"""A fake WeChat API server (stdlib, threaded, 127.0.0.1) for token fetches and customer-service pushes.

with FakeWeChatAPI() as api:
    client = make_client(cfg, api_base_url=api.base_url)
    api.fail_next_sends(0, 45015)       # next send accepted, the one after answers 45015
    ...
    assert api.token_fetches == 1 and api.sent_texts("openid") == [...]
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class SentMessage:
    """One accepted customer-service message."""

    touser: str
    msgtype: str
    content: str
    access_token: str


class FakeWeChatAPI:
    """Scriptable stand-in for api.weixin.qq.com/cgi-bin."""

    def __init__(self, app_id: str | None = None, app_secret: str | None = None) -> None:
        self.app_id = app_id  # when set, token requests must match
        self.app_secret = app_secret
        self.token_fetches = 0
        self.token_delay_s = 0.0
        self.expires_in = 7200
        self.messages: list[SentMessage] = []
        self.send_attempts = 0
        self._valid_tokens: set[str] = set()
        self._send_errors: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-wechat-api", daemon=True
        )

    @property
    def base_url(self) -> str:
        """Value for make_client(api_base_url=…)."""
        return f"http://127.0.0.1:{self._server.server_port}/cgi-bin/"

    def start(self) -> FakeWeChatAPI:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWeChatAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next_sends(self, *errcodes: int) -> None:
        """Script the next sends' errcodes in order (0 = accept); later sends are accepted."""
        with self._lock:
            self._send_errors.extend(errcodes)

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (sends then answer 40001)."""
        with self._lock:
            self._valid_tokens.clear()

    def sent_texts(self, touser: str | None = None) -> list[str]:
        """Contents of accepted text messages, optionally for one openid."""
        with self._lock:
            return [m.content for m in self.messages if touser is None or m.touser == touser]

    def _token(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """GET /cgi-bin/token."""
        appid, secret = query.get("appid", [""])[0], query.get("secret", [""])[0]
        if query.get("grant_type", [""])[0] != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if (self.app_id and appid != self.app_id) or (self.app_secret and secret != self.app_secret):
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if self.token_delay_s:
            time.sleep(self.token_delay_s)
        token = f"TOKEN-{secrets.token_hex(8)}"
        with self._lock:
            self.token_fetches += 1
            self._valid_tokens.add(token)
        return {"access_token": token, "expires_in": self.expires_in}

    def _send(self, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        """POST /cgi-bin/message/custom/send."""
        token = query.get("access_token", [""])[0]
        with self._lock:
            self.send_attempts += 1
            if token not in self._valid_tokens:
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
            code = self._send_errors.pop(0) if self._send_errors else 0
            if code:
                return {"errcode": code, "errmsg": f"scripted error {code}"}
            data = json.loads(body.decode("utf-8"))
            content = data.get("text", {}).get("content", "")
            self.messages.append(SentMessage(data.get("touser", ""), data.get("msgtype", ""), content, token))
        return {"errcode": 0, "errmsg": "ok"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """Request handler class bound to this fake."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, payload: dict[str, Any], status: int = 200) -> None:
                raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path == "/cgi-bin/token":
                    self._reply(fake._token(parse_qs(url.query)))
                else:
                    self._reply({"errcode": 404, "errmsg": "not found"}, 404)

            def do_POST(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path == "/cgi-bin/message/custom/send":
                    self._reply(fake._send(parse_qs(url.query), body))
                else:
                    self._reply({"errcode": 404, "errmsg": "not found"}, 404)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
