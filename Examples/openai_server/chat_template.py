"""Chat messages to token ids, with the length of the system prompt's part.

A checkpoint whose tokenizer has a chat template gets it (`apply_chat_template`, with the
generation prompt). One without (Models/loma-tiny, a byte-level model trained on plain text) gets
a plain transcript, one `role: content` line per message and `assistant: ` to answer after.

The system part must be a prefix of every conversation that starts with the same system prompt:
its whole segments are what the server publishes and other sessions find (chunk hashes chain over
the ids from the first token on, docs/loma-spec.md 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RenderedChat:
    ids: list[int]
    system_tokens: int  # the leading ids that render the system messages alone (0: none)


def plain_transcript(messages: Sequence[dict[str, str]], answer: bool = True) -> str:
    text = "".join(f"{message['role']}: {message['content']}\n" for message in messages)
    return text + ("assistant: " if answer else "")


def render(tokenizer: Any, messages: Sequence[dict[str, str]]) -> RenderedChat:
    """`messages`: dicts with `role` and `content`, in order, system messages first."""
    system = [message for message in messages if message["role"] == "system"]
    if getattr(tokenizer, "chat_template", None):
        ids = list(tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True))
        system_ids = list(tokenizer.apply_chat_template(system, tokenize=True)) if system else []
    else:
        ids = tokenizer(plain_transcript(messages), add_special_tokens=False)["input_ids"]
        system_ids = tokenizer(plain_transcript(system, answer=False), add_special_tokens=False)["input_ids"] if system else []
    # A template may render a lone system message differently (say, with an end-of-turn it puts
    # elsewhere in a conversation); then there is no shareable system part.
    system_tokens = len(system_ids) if ids[:len(system_ids)] == system_ids else 0
    return RenderedChat(ids=ids, system_tokens=system_tokens)
