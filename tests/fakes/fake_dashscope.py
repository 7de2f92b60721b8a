"""A fake DashScope text-generation server speaking the wire format of SDK 2.0.2.

In-process::

    with FakeDashScope(api_key="test-key") as fake:
        fake.script(FakeReply(text="hello", chunks=3), FakeError(status=429, code="Throttling.RateQuota"))
        QwenProvider(base_url=fake.url).stream(...)
        fake.requests[-1].messages

As a script (asyncio, holds thousands of concurrent streams)::

    python tests/fakes/fake_dashscope.py --port 8089 --latency-ms 200 --chunks 20 --chunk-interval-ms 500

Wire format (what ``dashscope.common.utils._handle_stream`` parses): HTTP/1.1
with chunked transfer; each SSE event is ``id:N`` / ``event:result`` (or
``event:error``) / ``:HTTP_STATUS/200`` / ``data:{json}`` and a blank line.
Errors before the stream answer with the HTTP status and a JSON (or SSE) body
``{"code", "message", "request_id"}``.  Scripted replies are consumed first in,
first out; with none left the server echoes the last user message.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Union

GENERATION_PATH = "/services/aigc/text-generation/generation"
#: the messages the real service sends with these codes
UPSTREAM_MESSAGES = {
    "InvalidApiKey": "Invalid API-key provided.",
    "Arrearage": "Access denied, please make sure your account is in good standing.",
    "DataInspectionFailed": "Input data may contain inappropriate content.",
    "InvalidParameter": "Range of input length should be [1, 30720]",
    "Throttling.RateQuota": "Requests rate limit exceeded, please try again later.",
    "InternalError": "An internal error has occurred, please try again later.",
}


@dataclass
class FakeToolCall:
    """A tool call the fake model requests; its arguments stream in ``fragments`` pieces."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None
    fragments: int = 3


@dataclass
class FakeReply:
    """A successful answer: ``text`` in ``chunks`` pieces, optional tool calls.

    ``text=None`` echoes the last user message (no text when there are tool calls).
    """

    text: str | None = None
    chunks: int | list[str] | None = None
    delay_s: float | None = None
    chunk_interval_s: float | None = None
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    usage: bool | tuple[int, int] = True
    finish_reason: str | None = None


@dataclass
class FakeError:
    """An error: at the start (HTTP status) or, with ``after_chunks=N``, as ``event:error`` after N chunks."""

    status: int = 500
    code: str = "InternalError"
    message: str | None = None
    after_chunks: int | None = None
    text: str = "partial answer "
    retry_after: int | None = None
    sse: bool = True


@dataclass
class FakeDrop:
    """Close the TCP connection abruptly: before any response, or after N text chunks."""

    after_chunks: int | None = None
    text: str = "partial answer "


Scripted = Union[FakeReply, FakeToolCall, FakeError, FakeDrop]


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent to the model."""
        return ((self.body or {}).get("input") or {}).get("messages") or []

    @property
    def parameters(self) -> dict[str, Any]:
        """The ``parameters`` object (stream flags, tools, ...)."""
        return (self.body or {}).get("parameters") or {}

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        """The tool schemas offered, if any."""
        return self.parameters.get("tools")

    @property
    def bearer(self) -> str:
        """The API key from the Authorization header."""
        return self.headers.get("authorization", "").removeprefix("Bearer ").strip()


class FakeDashScope:
    """A scriptable DashScope server on 127.0.0.1, run on its own event-loop thread."""

    def __init__(
        self,
        api_key: str | None = "test-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        chunks: int = 4,
        chunk_interval_s: float = 0.0,
        record_limit: int = 10_000,
    ) -> None:
        self.api_key = api_key
        self.host, self.port = host, port
        self.latency_s, self.chunks, self.chunk_interval_s = latency_s, chunks, chunk_interval_s
        self._script: collections.deque[Scripted] = collections.deque()
        self._records: collections.deque[RecordedRequest] = collections.deque(maxlen=record_limit)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    # -- test API ---------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to use as ``base_http_api_url`` / ``base_address``."""
        return f"http://{self.host}:{self.port}/api/v1"

    def script(self, *items: Scripted) -> FakeDashScope:
        """Queue responses for the next requests, in order."""
        with self._lock:
            self._script.extend(items)
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (oldest first)."""
        with self._lock:
            return list(self._records)

    @property
    def pending(self) -> int:
        """Scripted responses not yet consumed."""
        with self._lock:
            return len(self._script)

    def clear(self) -> None:
        """Forget scripted responses and recorded requests."""
        with self._lock:
            self._script.clear()
            self._records.clear()

    # -- lifecycle --------------------------------------------------------

    def start(self) -> FakeDashScope:
        """Serve on a daemon thread; returns once the port is bound."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(self._listen())
            ready.set()
            self._loop.run_forever()
            self._server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-dashscope", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections."""
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> FakeDashScope:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> asyncio.base_events.Server:
        server = await asyncio.start_server(self._connection, self.host, self.port, limit=1 << 22, backlog=4096)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def serve_forever(self) -> None:
        """Serve in the current event loop (script mode)."""
        server = await self._listen()
        print(f"fake dashscope listening on {self.url}", flush=True)
        async with server:
            await server.serve_forever()

    # -- HTTP -------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                raw = await reader.readexactly(length) if length else b""
                keep_open = await self._handle(method, target.split("?")[0], headers, raw, writer)
                if not keep_open or headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # server stopping: end quietly
            pass
        finally:
            writer.close()

    async def _handle(self, method: str, path: str, headers: dict[str, str], raw: bytes, writer: Any) -> bool:
        rid = str(uuid.uuid4())
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self._records.append(RecordedRequest(method, path, headers, body, time.time()))
        if method != "POST" or not path.endswith(GENERATION_PATH):
            return await _send_json(
                writer, 404, {"code": "NotFound", "message": f"{path} not found", "request_id": rid}
            )
        bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not bearer or (self.api_key is not None and bearer != self.api_key):
            error = {"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": rid}
            return await _send_json(writer, 401, error)
        problem = invalid_request(body)
        if problem:
            error = {"code": "InvalidParameter", "message": problem, "request_id": rid}
            return await _send_json(writer, 400, error)
        with self._lock:
            item = self._script.popleft() if self._script else FakeReply()
        stream = headers.get("x-dashscope-sse", "").lower() == "enable" or "text/event-stream" in headers.get(
            "accept", ""
        )
        return await self._respond(item, body, stream, rid, writer)

    async def _respond(self, item: Scripted, body: dict[str, Any], stream: bool, rid: str, writer: Any) -> bool:
        if isinstance(item, FakeDrop) and (item.after_chunks is None or not stream):
            writer.transport.abort()
            return False
        if isinstance(item, FakeError) and (item.after_chunks is None or not stream):
            error = {"code": item.code, "message": _message(item), "request_id": rid}
            extra = {"Retry-After": str(item.retry_after)} if item.retry_after else {}
            if stream and item.sse:
                payload = _event(1, "error", item.status, error)
                return await _send(writer, item.status, "text/event-stream;charset=UTF-8", payload, extra)
            return await _send_json(writer, item.status, error, extra)
        plan = _Plan.build(item, body, self)
        if not stream:
            await asyncio.sleep(plan.delay_s)
            return await _send_json(writer, 200, plan.whole(rid))
        return await self._stream(plan, rid, writer)

    async def _stream(self, plan: _Plan, rid: str, writer: Any) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;charset=UTF-8\r\n"
            b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n" + f"X-Request-Id: {rid}\r\n\r\n".encode()
        )
        await writer.drain()
        await asyncio.sleep(plan.delay_s)
        for n, event in enumerate(plan.events(rid), start=1):
            if n > 1:
                await asyncio.sleep(plan.interval_s)
            if writer.transport.is_closing():
                return False
            if event is None:  # scripted drop
                writer.transport.abort()
                return False
            kind, status, data = event
            chunk = _event(n, kind, status, data)
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


@dataclass
class _Plan:
    """What one successful (or mid-stream failing) answer sends."""

    pieces: list[str]
    calls: list[FakeToolCall]
    finish: str
    usage: bool | tuple[int, int]
    input_tokens: int
    delay_s: float
    interval_s: float
    incremental: bool
    text_format: bool
    tail: FakeError | FakeDrop | None = None

    @classmethod
    def build(cls, item: Scripted, body: dict[str, Any], fake: FakeDashScope) -> _Plan:
        """Turn a scripted item (or the echo default) into a plan."""
        tail: FakeError | FakeDrop | None = None
        if isinstance(item, FakeToolCall):
            item = FakeReply(text="", tool_calls=[item])
        elif isinstance(item, (FakeError, FakeDrop)):
            tail, item = item, FakeReply(text=item.text, chunks=max(1, item.after_chunks or 0))
            if tail.after_chunks == 0:
                item.text = ""
        messages = body["input"]["messages"]
        count = item.chunks if isinstance(item.chunks, int) else fake.chunks
        text = "" if item.text is None and item.tool_calls else item.text
        if text is None:  # echo, padded so that every requested chunk carries text
            text = "Echo: " + _last_user_text(messages)
            text += " ." * max(0, 4 * count - len(text))
        pieces = item.chunks if isinstance(item.chunks, list) else _split(text, count)
        params = body.get("parameters") or {}
        return cls(
            pieces=pieces,
            calls=list(item.tool_calls),
            finish=item.finish_reason or ("tool_calls" if item.tool_calls else "stop"),
            usage=item.usage,
            input_tokens=max(1, len(json.dumps(messages, ensure_ascii=False)) // 4),
            delay_s=fake.latency_s if item.delay_s is None else item.delay_s,
            interval_s=fake.chunk_interval_s if item.chunk_interval_s is None else item.chunk_interval_s,
            incremental=bool(params.get("incremental_output")),
            text_format=params.get("result_format", "text") != "message",
            tail=tail,
        )

    def _usage(self, output_chars: int) -> dict[str, int]:
        if isinstance(self.usage, tuple):
            inp, out = self.usage
        else:
            inp, out = self.input_tokens, output_chars
        return {"total_tokens": inp + out, "output_tokens": out, "input_tokens": inp}

    def _chunk(
        self, rid: str, content: str, finish: str, calls: list[dict[str, Any]] | None, out: int
    ) -> dict[str, Any]:
        if self.text_format:
            output: dict[str, Any] = {"text": content, "finish_reason": finish}
        else:
            message: dict[str, Any] = {"content": content, "role": "assistant"}
            if calls:
                message["tool_calls"] = calls
            output = {"choices": [{"message": message, "finish_reason": finish}]}
        data: dict[str, Any] = {"output": output, "request_id": rid}
        if self.usage:
            data["usage"] = self._usage(out)
        return data

    def events(self, rid: str) -> list[tuple[str, int, dict[str, Any]] | None]:
        """The SSE events of a streamed answer; None marks a scripted connection drop."""
        events: list[tuple[str, int, dict[str, Any]] | None] = []
        sent = ""
        for piece in [p for p in self.pieces if p]:
            sent += piece
            content = piece if self.incremental else sent
            events.append(("result", 200, self._chunk(rid, content, "null", None, len(sent))))
        if isinstance(self.tail, FakeDrop):
            return events + [None]
        if isinstance(self.tail, FakeError):
            error = {"code": self.tail.code, "message": _message(self.tail), "request_id": rid}
            return events + [("error", self.tail.status, error)]
        out = len(sent)
        for index, call in enumerate(self.calls):
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, ensure_ascii=False)
            call_id = call.id or f"call_{uuid.uuid4().hex[:20]}"
            for k, part in enumerate(_split(args, call.fragments) or [""]):
                out += len(part)
                fn = {"name": call.name, "arguments": part} if k == 0 else {"arguments": part}
                fragment = {"index": index, "id": call_id if k == 0 else "", "type": "function", "function": fn}
                events.append(("result", 200, self._chunk(rid, "", "null", [fragment], out)))
        final_content = "" if self.incremental else sent
        events.append(("result", 200, self._chunk(rid, final_content, self.finish, None, out)))
        return events

    def whole(self, rid: str) -> dict[str, Any]:
        """The non-streaming JSON answer."""
        text = "".join(self.pieces)
        calls = []
        for index, call in enumerate(self.calls):
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, ensure_ascii=False)
            fn = {"name": call.name, "arguments": args}
            calls.append(
                {"index": index, "id": call.id or f"call_{uuid.uuid4().hex[:20]}", "type": "function", "function": fn}
            )
        out = len(text) + sum(len(c["function"]["arguments"]) for c in calls)
        return self._chunk(rid, text, self.finish, calls, out)


def invalid_request(body: Any) -> str | None:
    """Why DashScope would reject this body with InvalidParameter, or None."""
    if not isinstance(body, dict) or not body.get("model"):
        return "Model not specified"
    messages = (body.get("input") or {}).get("messages")
    if not isinstance(messages, list) or not messages:
        return "Input messages must not be empty"
    pending: set[Any] = set()
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "user", "assistant", "tool"):
            return f"Invalid role {role!r} in message {i}"
        if role == "system" and i != 0:
            return "The system message must be the first message"
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                return f"Message {i}: a tool message must answer a preceding assistant tool_call"
            pending.discard(message.get("tool_call_id"))
            continue
        if pending:
            return f"Message {i}: tool_calls {sorted(map(str, pending))} have no tool messages"
        if role == "assistant":
            pending = {c.get("id") for c in message.get("tool_calls") or []}
    if pending:
        return "The last assistant tool_calls have no tool messages"
    for tool in (body.get("parameters") or {}).get("tools") or []:
        if tool.get("type") != "function" or not (tool.get("function") or {}).get("name"):
            return "Each tool must be {type: function, function: {name, ...}}"
    return None


def _message(error: FakeError) -> str:
    return error.message or UPSTREAM_MESSAGES.get(error.code, f"{error.code} (fake)")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return ""


def _split(text: str, parts: int) -> list[str]:
    """``text`` in ``parts`` nearly equal pieces (fewer if it is shorter)."""
    if not text:
        return []
    parts = max(1, min(parts, len(text)))
    size, extra = divmod(len(text), parts)
    pieces, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def _event(n: int, kind: str, status: int, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id:{n}\nevent:{kind}\n:HTTP_STATUS/{status}\ndata:{payload}\n\n".encode()


async def _send(writer: Any, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None) -> bool:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    return True


async def _send_json(writer: Any, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> bool:
    body = json.dumps(data, ensure_ascii=False).encode()
    return await _send(writer, status, "application/json;charset=UTF-8", body, headers)


def main(argv: list[str] | None = None) -> None:
    """Run the fake from the command line (for benchmarks and manual testing)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=None, help="accepted key (default: any non-empty key)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before the first chunk")
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--chunk-interval-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    fake = FakeDashScope(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        latency_s=args.latency_ms / 1000,
        chunks=args.chunks,
        chunk_interval_s=args.chunk_interval_ms / 1000,
        record_limit=1000,
    )
    try:
        asyncio.run(fake.serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
