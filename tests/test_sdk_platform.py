"""The SDK clients send the same `X-Stainless-OS` header as the SDK computes, without the
`uname -p` subprocess of `platform.platform()` (agent_engine/llm/sdk_platform.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from settings.config import PROJECT_ROOT
from tests.fake_llm_server import FakeLLMServer

CHILD = """
import json, platform, subprocess, sys
forks = []
real_popen_init = subprocess.Popen.__init__
def spy(self, args, *a, **k):
    forks.append(args)
    real_popen_init(self, args, *a, **k)
subprocess.Popen.__init__ = spy
provider, url = sys.argv[1], sys.argv[2]
if provider == "openai":
    from agent_engine.llm.openai_client import OpenAIChatClient
    client = OpenAIChatClient("m", api_key="sk-test-0000", base_url=url, timeout=30)
    client._client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
else:
    from agent_engine.llm.anthropic_client import AnthropicMessagesClient
    client = AnthropicMessagesClient("m", api_key="sk-test-0000", base_url=url, timeout=30)
    client._client.messages.create(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
print(json.dumps({"forks": [str(f) for f in forks]}))
"""


def _run(provider: str, url: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, provider, url],
        cwd=str(PROJECT_ROOT),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _sdk_os(module: str) -> str:
    code = f"import {module}._base_client as b; print(b.get_platform())"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def test_openai_client_sends_the_sdk_os_header_without_forking() -> None:
    with FakeLLMServer(rule="answer") as server:
        result = _run("openai", server.openai_base_url)
        (request,) = server.requests
    assert result["forks"] == []
    assert request["headers"]["x-stainless-os"] == _sdk_os("openai") == "Linux"


def test_anthropic_client_sends_the_sdk_os_header_without_forking() -> None:
    with FakeLLMServer(rule="answer") as server:
        result = _run("anthropic", server.anthropic_base_url)
        (request,) = server.requests
    assert result["forks"] == []
    assert request["headers"]["x-stainless-os"] == _sdk_os("anthropic") == "Linux"
