"""Replay provider: answer each model call from a recorded run's decision logs.

The loop does not know it is replaying: `begin_window(view)` picks the recorded attempt of the
window (`<run_dir>/agent_data/<signature>/log/...`, attempt `view.key.attempt`), and `complete`
returns the recorded answers in order. Before answering, the request is compared with the one
recorded: the conversation rebuilt from the log (prompt, earlier answers, tool results) and the
`request_sha256` fingerprint (model, parameters, tool definitions). Recorded retries are
reproduced as transient errors, recorded failures as the same error, and an attempt that was
interrupted before its next model call raises the same stop signal at the same point (a resumed
run then replays the next attempt). Interruptions are reproduced at model-call boundaries only.

At the first difference, `on_divergence: stop` raises `ReplayDivergence` (the runner fails the
agent with the report); `live` switches to the real provider for the rest of the run. Either
way the report is appended to `<data_root>/agent_data/<signature>/replay_divergence.jsonl`.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent_engine.errors import LLMError, LLMPermanentError, LLMTransientError
from agent_engine.llm.base import (
    CallKey,
    LLMClient,
    LLMResponse,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    WindowView,
)
from agent_engine.llm.request_digest import message_record, request_digest
from data_flow.clock import now_iso
from data_flow.fsio import append_jsonl
from data_flow.records.paths import decision_log_path, log_dir
from data_flow.records.read import read_attempts
from settings.config import ConfigError, ModelConfig

log = logging.getLogger(__name__)

KIND_REPLAY_RETRY = "replay_retry"
SNIPPET_CHARS = 300


class ReplayDivergence(BaseException):
    """A request differs from the recorded one (on_divergence `stop`): the agent stops."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__(format_report(report))
        self.report = report


def format_report(report: dict[str, Any]) -> str:
    where = f"window {report['window_id']} attempt {report['attempt']} turn {report['turn']}"
    text = f"replay diverged at {where}: {report['what']}"
    if report.get("message_index") is not None:
        text += (
            f" (message {report['message_index']}, from character {report.get('char')}:"
            f" recorded {report['recorded']!r},"
            f" now {report['actual']!r})"
        )
    return text


def _with_resumed_history(
    attempts: list[list[dict[str, Any]]], index: int
) -> tuple[int, list[dict[str, Any]]]:
    """The events of attempt `index`, preceded by the conversation events of the earlier
    attempts it resumes (back to the last one with a `prompt`), and the first such attempt."""
    first = index
    while first > 0 and not any(e.get("type") == "prompt" for e in attempts[first]):
        first -= 1
    kept = ("prompt", "model_error", "model_call", "tool_result")
    history = [e for a in attempts[first:index] for e in a if e.get("type") in kept]
    return first, history + attempts[index]


@dataclass
class _Recorded:
    """One recorded attempt, prepared for replay."""

    system: str
    calls: list[dict[str, Any]]  # model_call events in order
    results: dict[int, list[dict[str, Any]]]  # tool_result events by step
    failures: dict[int, list[dict[str, Any]]]  # model_error events (retried attempts) by step
    interrupted_by: int | None  # the signal that ended the attempt after its last call


def _prepare(events: list[dict[str, Any]]) -> tuple[_Recorded, str]:
    prompt = next((e for e in events if e.get("type") == "prompt"), None)
    calls = [e for e in events if e.get("type") == "model_call"]
    results: dict[int, list[dict[str, Any]]] = {}
    failures: dict[int, list[dict[str, Any]]] = {}
    for ev in events:
        if ev.get("type") == "tool_result":
            results.setdefault(int(ev["step"]), []).append(ev)
        elif ev.get("type") == "model_error":
            failures.setdefault(int(ev["step"]), []).append(ev)
    end = next((e for e in events if e.get("type") == "window_end"), None)
    interrupted_by = None
    if end is None or end.get("outcome") == "interrupted":
        interrupted_by = _signal_of(str(end.get("final_text") or "") if end else "")
    system = str(prompt.get("system", "")) if prompt else ""
    user = str(prompt.get("user", "")) if prompt else ""
    return _Recorded(system, calls, results, failures, interrupted_by), user


def _signal_of(text: str) -> int:
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        if sig.name in text:
            return int(sig)
    return int(signal.SIGTERM)


def _first_difference(a: str, b: str) -> int:
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def _around(value: Any, at: int) -> Any:
    """The text from a little before character `at` (where it first differs), shortened."""
    if not isinstance(value, str):
        return value
    start = max(0, at - SNIPPET_CHARS // 4)
    text = value[start : start + SNIPPET_CHARS]
    return ("..." if start else "") + text + ("..." if start + SNIPPET_CHARS < len(value) else "")


class ReplayClient:
    """LLMClient answering from a recorded run; see the module docstring."""

    def __init__(
        self,
        model: ModelConfig,
        live_factory: Callable[[], LLMClient],
    ) -> None:
        if model.replay is None:
            raise ConfigError(f"{model.signature}: no replay settings")
        self.provider = model.provider
        self.model = model.basemodel
        self._config = model
        self._settings = model.replay
        self._source_signature = model.replay.signature or model.signature
        self._root = model.replay.run_root()
        recorded = log_dir(self._root, self._source_signature)
        if not recorded.is_dir():
            raise ConfigError(
                f"{model.signature}: no recorded decision logs in {recorded} (replay.run_dir)"
            )
        self._live_factory = live_factory
        self._live: LLMClient | None = None
        self._view: WindowView | None = None
        self._recorded: _Recorded | None = None
        self._conversation: list[Message] = []
        self._turn = 0
        self._pending_retries = 0
        self._key: CallKey | None = None

    # --- LLMClient -----------------------------------------------------------------------
    def begin_window(self, view: WindowView) -> None:
        self._view = view
        self._turn = 0
        self._pending_retries = 0
        if self._live is not None:
            self._forward_begin(view)
            return
        path = decision_log_path(self._root, self._source_signature, view.key.moment)
        attempts = read_attempts(path)
        if not attempts:
            self._recorded = None
            self._conversation = []
            return
        index = min(view.key.attempt, len(attempts)) - 1
        first, events = _with_resumed_history(attempts, index)
        self._recorded, user = _prepare(events)
        self._conversation = [Message.user(user)]
        # A resumed attempt continues the conversation of earlier attempts (agent_engine/resume.py):
        # their model calls were already answered; the loop sends them back as history.
        earlier = sum(1 for a in attempts[first:index] for e in a if e.get("type") == "model_call")
        for call in self._recorded.calls[:earlier]:
            self._extend_conversation(call)
        self._turn = earlier

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        key: CallKey | None = None,
    ) -> LLMResponse:
        self._key = key
        if self._live is not None:
            return self._live.complete(system, messages, tools, key)
        if self._pending_retries:
            return self._answer_retry()
        self._turn += 1
        recorded = self._recorded
        if recorded is None:
            return self._diverge(
                "the recording has no log for this window", system, messages, tools
            )
        if self._turn > len(recorded.calls):
            if recorded.interrupted_by is not None:
                from agent_engine.runner import StopRequested

                raise StopRequested(recorded.interrupted_by)
            return self._diverge(
                f"the recording has no model call {self._turn}", system, messages, tools
            )
        call = recorded.calls[self._turn - 1]
        report = self._difference(call, system, messages, tools)
        if report is not None:
            return self._diverge_with(report, system, messages, tools)
        self._extend_conversation(call)
        self._pending_retries = int(call.get("retries") or 0)
        if self._pending_retries:
            return self._answer_retry()
        return self._answer(call)

    def backoff_sleep(self, seconds: float) -> None:
        """Retry backoff: none while replaying, real once the run continues live."""
        if self._live is not None:
            time.sleep(seconds)

    def close(self) -> None:
        close = getattr(self._live, "close", None)
        if callable(close):
            close()

    # --- answers ---------------------------------------------------------------------------
    def _answer_retry(self) -> LLMResponse:
        """A recorded retry: a transient error; the last one is followed by the answer."""
        call = self._recorded.calls[self._turn - 1] if self._recorded else {}
        retries = int(call.get("retries") or 0)
        if self._pending_retries > 0:
            done = retries - self._pending_retries  # retried attempts already answered
            self._pending_retries -= 1
            if self._pending_retries == 0:
                self._pending_retries = -1  # next: the answer itself
            raise self._recorded_failure(call, done, retries)
        self._pending_retries = 0
        return self._answer(call)

    def _recorded_failure(self, call: dict[str, Any], index: int, retries: int) -> LLMError:
        """The error of the `index`-th retried attempt, as its `model_error` event recorded it
        (older logs without those events: a generic transient error)."""
        step = int(call.get("step") or 0)
        failures = self._recorded.failures.get(step, []) if self._recorded else []
        if index < len(failures):
            error = failures[index].get("error") or {}
            return LLMTransientError(
                str(error.get("kind") or KIND_REPLAY_RETRY),
                str(error.get("message") or ""),
                status_code=error.get("status_code"),
            )
        return LLMTransientError(KIND_REPLAY_RETRY, f"recorded retry of {retries}")

    def _answer(self, call: dict[str, Any]) -> LLMResponse:
        error = call.get("error")
        if error:
            raise LLMPermanentError(
                str(error.get("kind")),
                str(error.get("message")),
                status_code=error.get("status_code"),
            )
        usage = call.get("usage") or {}
        return LLMResponse(
            text=str(call.get("text") or ""),
            tool_calls=[
                ToolCall(str(c["id"]), str(c["name"]), str(c["arguments"]))
                for c in call.get("tool_calls") or []
            ],
            finish_reason=call.get("finish_reason"),
            usage=Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            ),
            model=str(call.get("model") or self.model),
            response_id=call.get("response_id"),
            latency_ms=float(call.get("latency_ms") or 0.0),
            retries=0,
            reasoning=str(call.get("reasoning") or ""),
        )

    def _extend_conversation(self, call: dict[str, Any]) -> None:
        """After answering turn N, the recorded request of turn N+1 has N's answer and results."""
        assert self._recorded is not None
        calls = [
            ToolCall(str(c["id"]), str(c["name"]), str(c["arguments"]))
            for c in call.get("tool_calls") or []
        ]
        self._conversation.append(Message.assistant(str(call.get("text") or ""), calls))
        for res in self._recorded.results.get(int(call["step"]), []):
            self._conversation.append(
                Message.tool(
                    str(res["tool_call_id"]),
                    str(res["name"]),
                    str(res["result"]),
                    is_error=not res.get("ok"),
                )
            )

    # --- divergence ------------------------------------------------------------------------
    def _difference(
        self,
        call: dict[str, Any],
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
    ) -> dict[str, Any] | None:
        assert self._recorded is not None
        if system != self._recorded.system:
            return self._report("the system prompt differs", 0, self._recorded.system, system)
        expected = [message_record(m) for m in self._conversation]
        actual = [message_record(m) for m in messages]
        for i in range(max(len(expected), len(actual))):
            want = expected[i] if i < len(expected) else None
            got = actual[i] if i < len(actual) else None
            if want != got:
                role = (want or got or {}).get("role")
                return self._report(
                    f"a message differs ({role})", i + 1, _message_text(want), _message_text(got)
                )
        recorded_sha = call.get("request_sha256")
        if recorded_sha:
            sha = request_digest(self.model, self._config.parameters, system, messages, tools)
            if sha != recorded_sha:
                return self._report("the model, its parameters or the tool definitions differ")
        return None

    def _report(
        self,
        what: str,
        message_index: int | None = None,
        recorded: Any = None,
        actual: Any = None,
    ) -> dict[str, Any]:
        key = self._view.key if self._view is not None else None
        at = None
        if isinstance(recorded, str) and isinstance(actual, str):
            at = _first_difference(recorded, actual)
        return {
            "signature": self._config.signature,
            "window_id": key.window_id if key is not None else None,
            "attempt": key.attempt if key is not None else None,
            "turn": self._turn,
            "what": what,
            "message_index": message_index,
            "char": at,
            "recorded": _around(recorded, at or 0),
            "actual": _around(actual, at or 0),
            "on_divergence": self._settings.on_divergence,
        }

    def _diverge(
        self, what: str, system: str, messages: list[Message], tools: list[ToolSpec]
    ) -> LLMResponse:
        return self._diverge_with(self._report(what), system, messages, tools)

    def _diverge_with(
        self,
        report: dict[str, Any],
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
    ) -> LLMResponse:
        self._write_report(report)
        if self._settings.on_divergence == "stop":
            raise ReplayDivergence(report)
        log.warning("%s; continuing live", format_report(report))
        self._live = self._live_factory()
        self._forward_begin(self._view)
        return self._live.complete(system, messages, tools, self._key)

    def _forward_begin(self, view: WindowView | None) -> None:
        begin = getattr(self._live, "begin_window", None)
        if callable(begin) and view is not None:
            begin(view)

    def _write_report(self, report: dict[str, Any]) -> None:
        if self._view is None:
            return
        path = self._view.records_dir / "replay_divergence.jsonl"
        append_jsonl(path, {"ts_recorded": now_iso(), **report})


def _message_text(record: dict[str, Any] | None) -> Any:
    """A short view of a message record for the report (None when the message is missing)."""
    if record is None:
        return None
    role = record["role"]
    if record["tool_calls"]:
        calls = ", ".join(f"{name}({args})" for _id, name, args in record["tool_calls"])
        return f"{role}: {record['content']} [{calls}]"
    return f"{role}: {record['content']}"
