"""Fake OpenAI-compatible and Anthropic servers for tests and benchmarks (stdlib only).

Real HTTP on 127.0.0.1 (ThreadingHTTPServer), speaking
- `POST /v1/chat/completions` (OpenAI Chat Completions: ids, choices, tool_calls, usage), and
- `POST /v1/messages` (Anthropic Messages: content blocks, tool_use, stop_reason, usage).
Point the SDKs at it with `base_url=server.openai_base_url` (".../v1") or
`server.anthropic_base_url` (no "/v1").

Two ways to run it:
- in-process: `with FakeLLMServer(script=[...]) as server: ...` (or `fake_llm_server(...)`);
- as a process (for main.py subprocess end-to-end runs):
  `python -m tests.fake_llm_server --script script.json --port-file port.txt
   [--rule trade] [--requests-log requests.jsonl] [--port 0] [--lenient]`
  writes its port to the port file once it listens, runs until SIGTERM/SIGINT.

Replies come from a script (consumed one per request, in order), then from a rule.
A script is a list of steps, or a dict `{"default": [...], "models": {"<model>": [...]},
"rule": "<rule>"}` with one queue per requested model (for several agents on one server).
Step kinds (`"kind"`; every step may also set `"delay"` seconds before replying, `"usage"`
{"prompt_tokens", "completion_tokens"}, `"model"`, and `"drip"`: seconds between single bytes of
the reply, status line and headers included (`"drip_body_only": true`: headers at once), the
slow-drip server that per-read timeouts never catch):
- `{"kind": "tool_calls", "calls": [{"name": ..., "arguments": <str or object>, "id"?: ...}],
   "text"?: ...}` — arguments given as a string are sent verbatim (malformed JSON included);
- `{"kind": "text", "text": ...}` — a final answer; `{"kind": "long_text", "chars": n}` (a huge
  reply: n characters of text);
- `{"kind": "error", "status": 429, "headers"?: {"retry-after": "0"}, "message"?: ...}`;
- `{"kind": "garbage", "body"?: "not json", "status"?: 200}` — an unusable 200 body;
- `{"kind": "empty_choices"}` — a 200 without choices / content;
- `{"kind": "raw", "body": <any JSON>, "status"?: 200}` — exactly this body (sloppy servers).
Rules (stateless, safe for many concurrent agents; `step` = assistant turns so far + 1):
- `answer`: a final answer at once;
- `portfolio_then_answer`: step 1 calls get_portfolio, then a final answer;
- `trade`: step 1 get_portfolio; step 2 SELL all sellable shares of the first holding with
  sellable shares, else BUY `TRADE_QUANTITY` of the first symbol in the user prompt if there are
  no holdings; then a final answer;
- `price_trade` (the scale benchmark's "instant scripted model"): steps 1 and 2 each call
  get_stock_price for the 1st and 2nd symbol of the user prompt, step 3 BUYs `PRICE_TRADE_QUANTITY`
  of the 1st, then a final answer;
- `buy_each`: steps 1-3 each BUY `TRADE_QUANTITY` of the 1st, 2nd, 3rd symbol of the user
  prompt (call id `buy_<step>`), then a final answer. It depends only on the conversation, so
  a window resumed with the same history gets the same replies (the kill-and-resume tests).
Every request is recorded (`server.requests`: path, headers, body) and optionally appended to
a JSONL file, so tests can assert what was sent (tool results, parameters, no leaked keys).
Requests are validated as strictly as pydantic-validated servers do (tests/fake_llm_validation.py;
`strict=False` turns it off): an invalid OpenAI request gets HTTP 500 like llama-cpp-python's
server, an invalid Anthropic request 400; neither consumes a scripted step (`server.rejected`
counts them). With `tools` but no `tool_choice`, an OpenAI request is answered as if no tools
were offered (llama-cpp-python's function-calling format): tool-call steps become text.
`server.aborted` counts replies the client hung up on (e.g. a dripped reply cut by a deadline).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fake_llm_validation import (
    anthropic_request_errors,
    openai_request_errors,
    tools_ignored,
)

DEFAULT_USAGE = {"prompt_tokens": 100, "completion_tokens": 10}
DEFAULT_MODEL = "fake-model"
TRADE_QUANTITY = 200
FINAL_TEXT = "Holding; no further trades."
SYMBOL_RE = re.compile(r"\b(?:SH|SZ)\d{6}\b")
RULES = ("answer", "portfolio_then_answer", "trade", "buy_each", "price_trade")
PRICE_TRADE_QUANTITY = 100
BUY_EACH_STEPS = 3
TOOLS_IGNORED_TEXT = "(no tools were offered to me)"


# --- conversation helpers (provider-neutral view of a request) ---------------------------


def _assistant_turns(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")


def _first_user_text(body: dict[str, Any]) -> str:
    for m in body.get("messages") or []:
        if m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def tool_results(body: dict[str, Any]) -> list[str]:
    """Tool result texts in a request, oldest first (OpenAI role=tool; Anthropic tool_result)."""
    out: list[str] = []
    for m in body.get("messages") or []:
        if m.get("role") == "tool":
            out.append(str(m.get("content", "")))
        content = m.get("content")
        if m.get("role") == "user" and isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    c = block.get("content")
                    if isinstance(c, list):
                        c = " ".join(str(x.get("text", "")) for x in c if isinstance(x, dict))
                    out.append(str(c))
    return out


def rule_step(rule: str, body: dict[str, Any]) -> dict[str, Any]:
    """The scripted step a rule produces for this request."""
    step = _assistant_turns(body) + 1
    if rule == "buy_each":
        return _buy_each_step(body, step)
    if rule == "price_trade":
        return _price_trade_step(body, step)
    if rule == "answer" or step > 2:
        return {"kind": "text", "text": FINAL_TEXT}
    if step == 1:
        if rule in ("portfolio_then_answer", "trade"):
            return {"kind": "tool_calls", "calls": [{"name": "get_portfolio", "arguments": "{}"}]}
        return {"kind": "text", "text": FINAL_TEXT}
    if rule == "portfolio_then_answer":
        return {"kind": "text", "text": FINAL_TEXT}
    # rule == "trade", step 2: decide from the get_portfolio result
    results = tool_results(body)
    try:
        portfolio = json.loads(results[-1]) if results else {}
    except json.JSONDecodeError:
        portfolio = {}
    holdings = portfolio.get("holdings") if isinstance(portfolio, dict) else None
    holdings = holdings if isinstance(holdings, list) else []
    for h in holdings:
        if isinstance(h, dict) and int(h.get("sellable") or 0) > 0:
            args = {"symbol": h.get("symbol"), "action": "SELL", "quantity": int(h["sellable"])}
            return {"kind": "tool_calls", "calls": [{"name": "execute_trade", "arguments": args}]}
    if not holdings:
        symbols = SYMBOL_RE.findall(_first_user_text(body).split("Market at", 1)[-1])
        if symbols:
            args = {"symbol": symbols[0], "action": "BUY", "quantity": TRADE_QUANTITY}
            return {"kind": "tool_calls", "calls": [{"name": "execute_trade", "arguments": args}]}
    return {"kind": "text", "text": FINAL_TEXT}


def _buy_each_step(body: dict[str, Any], step: int) -> dict[str, Any]:
    market = _first_user_text(body).split("Market at", 1)[-1]
    symbols = list(dict.fromkeys(SYMBOL_RE.findall(market)))[:BUY_EACH_STEPS]
    if step > len(symbols):
        return {"kind": "text", "text": FINAL_TEXT}
    args = {"symbol": symbols[step - 1], "action": "BUY", "quantity": TRADE_QUANTITY}
    call = {"id": f"buy_{step}", "name": "execute_trade", "arguments": args}
    return {"kind": "tool_calls", "text": f"Buying {symbols[step - 1]}.", "calls": [call]}


# --- reply rendering ------------------------------------------------------------------------


def _price_trade_step(body: dict[str, Any], step: int) -> dict[str, Any]:
    market = _first_user_text(body).split("Market at", 1)[-1]
    symbols = list(dict.fromkeys(SYMBOL_RE.findall(market)))[:2]
    if step > 3 or len(symbols) < 2:
        return {"kind": "text", "text": FINAL_TEXT}
    if step < 3:
        call = {"name": "get_stock_price", "arguments": {"symbol": symbols[step - 1]}}
    else:
        args = {"symbol": symbols[0], "action": "BUY", "quantity": PRICE_TRADE_QUANTITY}
        call = {"name": "execute_trade", "arguments": args}
    return {"kind": "tool_calls", "calls": [call]}


def _long_text(chars: int) -> str:
    unit = "This is a very long answer from a verbose model. "
    return (unit * (chars // len(unit) + 1))[:chars]


def _usage(step: dict[str, Any]) -> dict[str, int]:
    usage = dict(DEFAULT_USAGE)
    usage.update(step.get("usage") or {})
    return usage


def _encode(payload: Any) -> bytes:
    """UTF-8 JSON; a payload with lone surrogates (a hostile model's "\\ud800") is sent with
    ASCII escapes instead, as a real provider would send them."""
    try:
        return json.dumps(payload, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(payload).encode()


def _arguments_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def render_openai(
    step: dict[str, Any], body: dict[str, Any], n: int
) -> tuple[int, dict[str, str], bytes]:
    kind = step.get("kind", "text")
    model = step.get("model") or body.get("model") or DEFAULT_MODEL
    if kind == "error":
        status = int(step.get("status", 500))
        payload = {
            "error": {
                "message": step.get("message", f"fake error {status}"),
                "type": "fake_error",
                "code": status,
            }
        }
        return status, dict(step.get("headers") or {}), json.dumps(payload).encode()
    if kind == "garbage":
        return int(step.get("status", 200)), {}, str(step.get("body", "this is not json")).encode()
    if kind == "raw":
        return int(step.get("status", 200)), {}, json.dumps(step.get("body")).encode()
    usage = _usage(step)
    usage_obj = {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
    base = {
        "id": f"chatcmpl-fake-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "usage": usage_obj,
    }
    if kind == "empty_choices":
        return 200, {}, json.dumps({**base, "choices": []}).encode()
    text = _long_text(int(step.get("chars", 100_000))) if kind == "long_text" else step.get("text")
    message: dict[str, Any] = {"role": "assistant", "content": text}
    finish = step.get("finish_reason") or "stop"
    if kind == "tool_calls":
        message["tool_calls"] = [
            {
                "id": c.get("id", f"call_{n}_{i}"),
                "type": "function",
                "function": {
                    "name": c.get("name", ""),
                    "arguments": _arguments_text(c.get("arguments", "{}")),
                },
            }
            for i, c in enumerate(step.get("calls") or [], start=1)
        ]
        finish = step.get("finish_reason") or "tool_calls"
    payload = {**base, "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    return 200, {}, _encode(payload)


def render_anthropic(
    step: dict[str, Any], body: dict[str, Any], n: int
) -> tuple[int, dict[str, str], bytes]:
    kind = step.get("kind", "text")
    model = step.get("model") or body.get("model") or DEFAULT_MODEL
    if kind == "error":
        status = int(step.get("status", 500))
        etype = {
            429: "rate_limit_error",
            401: "authentication_error",
            400: "invalid_request_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        payload = {
            "type": "error",
            "error": {"type": etype, "message": step.get("message", f"fake error {status}")},
        }
        return status, dict(step.get("headers") or {}), json.dumps(payload).encode()
    if kind == "garbage":
        return int(step.get("status", 200)), {}, str(step.get("body", "this is not json")).encode()
    if kind == "raw":
        return int(step.get("status", 200)), {}, json.dumps(step.get("body")).encode()
    usage = _usage(step)
    base = {
        "id": f"msg_fake_{n}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage["prompt_tokens"],
            "output_tokens": usage["completion_tokens"],
        },
    }
    if kind == "empty_choices":
        return 200, {}, json.dumps({**base, "content": None, "stop_reason": "end_turn"}).encode()
    blocks: list[dict[str, Any]] = []
    if step.get("thinking"):
        blocks.append({"type": "thinking", "thinking": step["thinking"], "signature": "fake-sig"})
    text = _long_text(int(step.get("chars", 100_000))) if kind == "long_text" else step.get("text")
    if text:
        blocks.append({"type": "text", "text": text})
    stop = step.get("finish_reason") or "end_turn"
    if kind == "tool_calls":
        for i, c in enumerate(step.get("calls") or [], start=1):
            arguments = c.get("arguments", {})
            if isinstance(arguments, str):
                # unparsable text is sent verbatim as a string: a malformed tool_use input
                with contextlib.suppress(json.JSONDecodeError):
                    arguments = json.loads(arguments)
            blocks.append(
                {
                    "type": "tool_use",
                    "id": c.get("id", f"toolu_{n}_{i}"),
                    "name": c.get("name", ""),
                    "input": arguments,
                }
            )
        stop = step.get("finish_reason") or "tool_use"
    payload = {**base, "content": blocks, "stop_reason": stop}
    return 200, {}, _encode(payload)


# --- the server -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many agents connect at once in e2e runs and benchmarks


class FakeLLMServer:
    """A scripted fake provider; see the module docstring."""

    def __init__(
        self,
        script: list[dict[str, Any]] | dict[str, Any] | None = None,
        *,
        rule: str = "answer",
        port: int = 0,
        requests_log: Path | None = None,
        strict: bool = True,
    ) -> None:
        if isinstance(script, dict):
            rule = script.get("rule", rule)
            self._queues = {k: list(v) for k, v in (script.get("models") or {}).items()}
            self._default = list(script.get("default") or [])
        else:
            self._queues = {}
            self._default = list(script or [])
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; choose from {RULES}")
        self.rule = rule
        self.requests: list[dict[str, Any]] = []
        self.requests_log = requests_log
        self.replies = 0
        self.strict = strict
        self.rejected = 0
        self.aborted = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None
        self._serving = False

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def start(self) -> FakeLLMServer:
        self._serving = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._stopping.set()
        if self._serving:
            self._serving = False
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- script ------------------------------------------------------------------------------
    def add(self, *steps: dict[str, Any], model: str | None = None) -> None:
        with self._lock:
            (self._queues.setdefault(model, []) if model else self._default).extend(steps)

    def remaining(self) -> int:
        with self._lock:
            return len(self._default) + sum(len(q) for q in self._queues.values())

    def assert_complete(self) -> None:
        left = self.remaining()
        if left:
            raise AssertionError(f"{left} scripted step(s) were not consumed")

    def bodies(self, path_suffix: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [r["body"] for r in self.requests if r["path"].endswith(path_suffix)]

    def _next_step(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            queue = self._queues.get(str(body.get("model")))
            if queue:
                return queue.pop(0)
            if self._default:
                return self._default.pop(0)
        return rule_step(self.rule, body)

    def _record(self, path: str, headers: dict[str, str], body: Any) -> int:
        entry = {"path": path, "headers": headers, "body": body, "time": time.time()}
        with self._lock:
            self.requests.append(entry)
            n = len(self.requests)
            if self.requests_log is not None:
                with open(self.requests_log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return n

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between header & body

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                self._send(200, {}, b'{"status":"ok"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                headers = {k.lower(): v for k, v in self.headers.items()}
                n = server._record(self.path, headers, body)
                openai_path = self.path.rstrip("/").endswith("/chat/completions")
                if openai_path:
                    render = render_openai
                elif self.path.rstrip("/").endswith("/messages"):
                    render = render_anthropic
                else:
                    self._send(404, {}, b'{"error":{"message":"not found"}}')
                    return
                if server.strict and self._reject(body, openai_path):
                    return
                step = server._next_step(body if isinstance(body, dict) else {})
                ignored = server.strict and openai_path and tools_ignored(body)
                if ignored and step.get("kind") == "tool_calls":
                    step = {**step, "kind": "text", "text": TOOLS_IGNORED_TEXT}
                delay = float(step.get("delay") or 0)
                if delay and server._stopping.wait(delay):
                    return
                status, extra, payload = render(step, body, n)
                with server._lock:
                    server.replies += 1
                drip = float(step.get("drip") or 0)
                if drip:
                    self._drip(status, extra, payload, drip, bool(step.get("drip_body_only")))
                else:
                    self._send(status, extra, payload)

            def _reject(self, body: Any, openai_path: bool) -> bool:
                if openai_path:
                    errors = openai_request_errors(body)
                    status = 500
                    error = {"message": "", "type": "internal_server_error", "code": 500}
                else:
                    errors = anthropic_request_errors(body)
                    status = 400
                    error = {"type": "invalid_request_error", "message": ""}
                if not errors:
                    return False
                error["message"] = f"{len(errors)} validation error(s): " + "; ".join(errors)
                payload: dict[str, Any] = {"error": error}
                if not openai_path:
                    payload["type"] = "error"
                with server._lock:
                    server.rejected += 1
                self._send(status, {}, json.dumps(payload).encode())
                return True

            def _head(self, status: int, extra: dict[str, str], length: int) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(length))
                for k, v in extra.items():
                    self.send_header(k, str(v))
                self.end_headers()

            def _send(self, status: int, extra: dict[str, str], payload: bytes) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._head(status, extra, len(payload))
                    self.wfile.write(payload)
                    self.wfile.flush()

            def _drip(
                self,
                status: int,
                extra: dict[str, str],
                payload: bytes,
                interval: float,
                body_only: bool,
            ) -> None:
                """Send the reply one byte per `interval` seconds (headers too unless
                `body_only`); stop when the client hangs up or the server stops."""
                reason = self.responses.get(status, ("",))[0]
                lines = [f"HTTP/1.1 {status} {reason}", "content-type: application/json"]
                lines.append(f"content-length: {len(payload)}")
                lines += [f"{k}: {v}" for k, v in extra.items()]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
                chunks = [head] if body_only else [bytes([b]) for b in head]
                chunks += [bytes([b]) for b in payload]
                try:
                    for i, chunk in enumerate(chunks):
                        if i and server._stopping.wait(interval):
                            break
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    with server._lock:
                        server.aborted += 1

        return Handler


@contextlib.contextmanager
def fake_llm_server(
    script: list[dict[str, Any]] | dict[str, Any] | None = None, *, rule: str = "answer"
) -> Iterator[FakeLLMServer]:
    server = FakeLLMServer(script, rule=rule).start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--script", type=Path, help="JSON file: a list of steps or a dict")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rule", default=None, choices=RULES)
    parser.add_argument("--requests-log", type=Path, default=None)
    parser.add_argument("--lenient", action="store_true", help="no strict request validation")
    args = parser.parse_args(argv)
    script = json.loads(args.script.read_text(encoding="utf-8")) if args.script else None
    kwargs: dict[str, Any] = {
        "port": args.port,
        "requests_log": args.requests_log,
        "strict": not args.lenient,
    }
    if args.rule:
        kwargs["rule"] = args.rule
        if isinstance(script, dict):
            script = {**script, "rule": args.rule}
    server = FakeLLMServer(script, **kwargs)

    def _stop(signum: int, _frame: Any) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    tmp = args.port_file.with_name(args.port_file.name + ".tmp")
    tmp.write_text(str(server.port), encoding="utf-8")
    os.replace(tmp, args.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
