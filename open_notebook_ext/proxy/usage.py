"""What a proxied call used: the model (from the request) and the tokens (from the answer).

Only these numbers and the model's name are kept: never the prompt or the answer.
Token counts come from the provider's own ``usage``:

* OpenAI chat completions: ``usage.prompt_tokens`` / ``completion_tokens``; in a
  stream only when the client asked for it (``stream_options.include_usage``), in
  the last chunk;
* OpenAI responses: ``usage.input_tokens`` / ``output_tokens``; streamed, in the
  ``response.completed`` event;
* Anthropic messages: ``usage.input_tokens`` / ``output_tokens``; streamed,
  ``message_start`` carries the input and ``message_delta`` the (cumulative) output;
* Gemini: ``usageMetadata.promptTokenCount`` / ``candidatesTokenCount``.

Streams are read line by line as they pass (server-sent events), without holding
them; other answers are parsed once complete, up to ``MAX_PARSED`` bytes.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_PARSED = 4 * 1024 * 1024
MAX_MODEL = 200
_AZURE_DEPLOYMENT = re.compile(r"openai/deployments/([^/]+)/")
_GOOGLE_MODEL = re.compile(r"models/([^/:]+)")


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _model_name(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:MAX_MODEL]
    return None


def request_model(style: str, path: str, body: bytes) -> str | None:
    """The model a request asks for: the body's ``model``, or the path's (Azure, Gemini)."""
    if style == "azure":
        m = _AZURE_DEPLOYMENT.search(path)
        if m:
            return m.group(1)[:MAX_MODEL]
    if style == "google":
        m = _GOOGLE_MODEL.search(path)
        if m:
            return m.group(1)[:MAX_MODEL]
    if body and len(body) <= MAX_PARSED and body.lstrip()[:1] == b"{":
        parsed = _json(body)
        if isinstance(parsed, dict):
            return _model_name(parsed.get("model"))
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class UsageReader:
    """Fed the answer's chunks; knows the tokens (and the answer's model) at the end."""

    def __init__(self) -> None:
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.model: str | None = None
        self._stream = False
        self._pending = b""
        self._body = bytearray()
        self._too_big = False

    def start(self, content_type: str) -> None:
        self._stream = content_type.split(";")[0].strip().lower() == "text/event-stream"

    def feed(self, chunk: bytes) -> None:
        if self._stream:
            data = self._pending + chunk
            lines = data.split(b"\n")
            self._pending = lines.pop()
            if len(self._pending) > MAX_PARSED:  # one event that large is not usage
                self._pending = b""
            for line in lines:
                self._line(line)
        elif not self._too_big:
            if len(self._body) + len(chunk) > MAX_PARSED:
                self._too_big = True
                self._body.clear()
            else:
                self._body.extend(chunk)

    def finish(self) -> None:
        if self._stream:
            if self._pending:
                self._line(self._pending)
            self._pending = b""
        elif self._body:
            self.take(_json(bytes(self._body)))
            self._body.clear()

    def _line(self, line: bytes) -> None:
        line = line.strip()
        if not line.startswith(b"data:") or b"sage" not in line:  # usage / usageMetadata
            return
        self.take(_json(line[5:].strip()))

    def take(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        usage = event.get("usage")
        if kind == "response.completed" and isinstance(event.get("response"), dict):
            usage = event["response"].get("usage")
            self.model = self.model or _model_name(event["response"].get("model"))
        elif kind == "message_start" and isinstance(event.get("message"), dict):
            usage = event["message"].get("usage")
            self.model = self.model or _model_name(event["message"].get("model"))
        if isinstance(usage, dict):
            inp = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
            out = _int(usage.get("completion_tokens", usage.get("output_tokens")))
            if inp is not None:
                self.input_tokens = inp
            if out is not None:
                self.output_tokens = out
        meta = event.get("usageMetadata")
        if isinstance(meta, dict):
            inp, out = _int(meta.get("promptTokenCount")), _int(meta.get("candidatesTokenCount"))
            if inp is not None:
                self.input_tokens = inp
            if out is not None:
                self.output_tokens = out
        self.model = self.model or _model_name(event.get("model") or event.get("modelVersion"))
