"""The request and reply bodies of `POST /v1/chat/completions` that this server understands.

The fields follow OpenAI's chat completions API; fields it does not use are accepted and ignored
(`extra="allow"`), so the official clients work unchanged. `session` (or the `X-Session-Id`
header) is this server's addition: it names the conversation, and so the lomad sequence that keeps
its memory between turns.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant"]
    content: str


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[Message]
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    session: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    n: int = Field(default=1, ge=1, le=1)

    @field_validator("messages")
    @classmethod
    def _not_empty(cls, messages: list[Message]) -> list[Message]:
        if not messages:
            raise ValueError("messages must hold at least one message")
        if messages[-1].role == "assistant":
            raise ValueError("the last message must be the user's (or the system's): there is nothing to answer")
        return messages

    def token_budget(self, default: int) -> int:
        return self.max_completion_tokens or self.max_tokens or default
