"""Chat turns on transformers + LomadCache: sessions, the shared system prompt, token by token.

One `ChatEngine` owns the model, the tokenizer and one lomad client; the server runs one turn at
a time through it (`lock`), since neither a torch model mid-forward nor a ZeroMQ socket may be
shared between threads.

- A **session** names a conversation; its lomad sequence is `chat-<session>`. The engine keeps the
  session's `LomadCache` and the ids it covers, so the next turn (the whole history again, as the
  OpenAI API sends it) runs only the ids that are new. A session this process does not know but
  lomad holds (another server process wrote it, or this one restarted) resumes from the
  sequence's memory and re-runs only the raw tail. A history that no longer starts with what the
  session covered (edited, or re-tokenized differently) restarts the session.
- The **system prompt**'s whole segments are published as a prefix under the chained chunk hashes
  of its ids, once a session has compressed them; any session whose conversation starts with the
  same system prompt finds them (`lookup_prefix`) and starts from that memory instead of running
  the system prompt again.
- Without a session a turn is computed in a scratch sequence, deleted afterwards.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from chat_template import RenderedChat, render
from lomad_client import Client, NotFound, chunk_hashes
from lomad_client.hf import LomadCache


@dataclass
class Session:
    name: str
    cache: LomadCache
    ids: list[int]  # the ids the cache covers, in order
    prefix_tokens: int = 0  # leading ids whose memory came from a published prefix
    published: bool = False  # its system prompt's memory is published


@dataclass
class TurnUsage:
    """What a turn cost and what the session holds afterwards (the reply's `usage`)."""

    prompt_tokens: int
    completion_tokens: int = 0
    resumed_tokens: int = 0  # prompt ids the session covered in earlier turns: not run again
    prefix_tokens: int = 0  # prompt ids whose memory a published prefix gave, for a session opened now
    covered_tokens: int = 0  # raw tokens the cache stands for after the turn
    memory_tokens: int = 0  # memory slots it holds for them
    raw_tokens: int = 0  # uncompressed slots (the tail since the last segment)
    segments: int = 0

    def as_openai(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens, "resumed_tokens": self.resumed_tokens,
                "prefix_tokens": self.prefix_tokens, "covered_tokens": self.covered_tokens,
                "memory_tokens": self.memory_tokens, "raw_tokens": self.raw_tokens, "segments": self.segments}


@dataclass
class Turn:
    """One answer being generated: iterate `pieces()` for text; `usage` and `finish_reason` are
    final once it is exhausted."""

    engine: "ChatEngine"
    session: Session
    scratch: bool
    logits: torch.Tensor
    max_tokens: int
    temperature: float
    top_p: float
    generator: torch.Generator
    usage: TurnUsage
    finish_reason: str = "length"
    produced: list[int] = field(default_factory=list)

    def pieces(self) -> Iterator[str]:
        engine, decoded = self.engine, ""
        try:
            for step in range(self.max_tokens):
                token = engine.pick(self.logits, self.temperature, self.top_p, self.generator)
                if token in engine.stop_ids:
                    self.finish_reason = "stop"
                    break
                self.produced.append(token)
                text = engine.tokenizer.decode(self.produced)
                if not text.endswith("\ufffd"):  # hold back a character split across tokens
                    yield text[len(decoded):]
                    decoded = text
                if step < self.max_tokens - 1:  # the last token's KV is never needed
                    self.logits = self.session.cache.feed(engine.model, torch.tensor([[token]]))[0, -1]
                    self.session.ids.append(token)
            text = engine.tokenizer.decode(self.produced)
            if text != decoded:
                yield text[len(decoded):]
        finally:
            self._finish()

    def _finish(self) -> None:
        cache = self.session.cache
        self.usage.completion_tokens = len(self.produced)
        self.usage.covered_tokens, self.usage.memory_tokens = cache.covered, cache.memory_tokens
        self.usage.raw_tokens, self.usage.segments = cache.raw_tokens, cache.segments
        if self.scratch:
            self.engine.drop(self.session)


class ChatEngine:
    def __init__(self, model_dir: Path, client: Client, model_name: str = "", dtype: str = "float32",
                 default_max_tokens: int = 64):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype))
        self.model.eval()
        self.client, self.model_name = client, model_name
        self.served = client.model_info(model_name)
        self.name = model_name or self.served.name
        self.default_max_tokens = default_max_tokens
        eos = self.tokenizer.eos_token_id
        self.stop_ids = {eos} if eos is not None else set()
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    # ---- a turn ----------------------------------------------------------------------------

    def start_turn(self, messages: list[dict[str, str]], session_name: str | None, max_tokens: int | None,
                   temperature: float, top_p: float, seed: int | None) -> Turn:
        """Runs the prompt ids the session does not cover yet; the answer comes from `pieces()`.
        Call with `lock` held until the turn is exhausted."""
        rendered = render(self.tokenizer, messages)
        usage = TurnUsage(prompt_tokens=len(rendered.ids))
        scratch = session_name is None
        session = self._session(session_name or f"scratch-{uuid.uuid4().hex[:12]}", rendered, usage)
        new_ids = rendered.ids[len(session.ids):]
        logits = session.cache.feed(self.model, torch.tensor([new_ids]))
        assert logits is not None  # new_ids is never empty: _session leaves at least the last id
        session.ids.extend(new_ids)
        self._publish_system_prompt(session, rendered)
        generator = torch.Generator()
        generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**31 - 1, ()).item()))
        return Turn(self, session, scratch, logits[0, -1], max_tokens or self.default_max_tokens, temperature, top_p,
                    generator, usage)

    def pick(self, logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> int:
        """Greedy at temperature 0; otherwise a draw from the tempered distribution, cut to the
        smallest set of tokens whose probability reaches `top_p`."""
        if temperature == 0:
            return int(logits.argmax())
        probabilities = torch.softmax(logits.double() / temperature, dim=-1)
        if top_p < 1.0:
            ordered, order = probabilities.sort(descending=True)
            keep = ordered.cumsum(-1) - ordered < top_p
            probabilities = torch.zeros_like(probabilities).scatter(0, order[keep], ordered[keep])
        return int(torch.multinomial(probabilities, 1, generator=generator))

    # ---- sessions --------------------------------------------------------------------------

    def _session(self, name: str, rendered: RenderedChat, usage: TurnUsage) -> Session:
        ids = rendered.ids
        session = self.sessions.get(name)
        if session is not None and (len(session.ids) >= len(ids) or ids[:len(session.ids)] != session.ids):
            self.drop(session)  # the history changed under the session: start it again
            session = None
        if session is None:
            session = self._open(name, rendered)
            usage.prefix_tokens = session.prefix_tokens
            usage.resumed_tokens = len(session.ids) - session.prefix_tokens
        else:
            usage.resumed_tokens = len(session.ids)
        self.sessions[name] = session
        return session

    def _open(self, name: str, rendered: RenderedChat) -> Session:
        sequence = f"chat-{name}"
        try:
            cache = LomadCache(self.client, sequence=sequence, model=self.model_name)
        except ValueError:  # a sequence that continued a published prefix: its start is not in it
            cache = None
        ids = rendered.ids
        if cache is None or cache.covered >= len(ids):  # memory beyond this history: not this conversation
            self.client.delete_sequence(sequence)
            cache = LomadCache(self.client, sequence=sequence, model=self.model_name, resume=False)
        if cache.covered:
            # lomad kept this conversation's memory (another process, or before a restart); trust
            # that the history it covered is this one's first `covered` ids.
            return Session(name, cache, ids[:cache.covered])
        matched = self._lookup_system_prompt(rendered)
        if matched is None:
            return Session(name, cache, [])
        tokens, memory = matched
        cache.start_from_prefix(memory, tokens)
        return Session(name, cache, ids[:tokens], prefix_tokens=tokens)

    def drop(self, session: Session) -> None:
        """Forgets a session here and deletes its sequence in lomad."""
        self.sessions.pop(session.name, None)
        try:
            self.client.delete_sequence(session.cache.sequences[0])
        except NotFound:
            pass  # never compressed into

    # ---- the shared system prompt ----------------------------------------------------------

    def _system_hashes(self, rendered: RenderedChat) -> list[bytes]:
        # Whole segments of the system part, and never the prompt's last id, which must be run.
        shareable = min(rendered.system_tokens, len(rendered.ids) - 1)
        return chunk_hashes(rendered.ids[:shareable], self.served.segment_length)

    def _lookup_system_prompt(self, rendered: RenderedChat):
        hashes = self._system_hashes(rendered)
        if not hashes:
            return None
        matched, memory = self.client.lookup_prefix(hashes, model=self.model_name, output_layout="heads_major")
        if not matched or memory is None:
            return None
        return matched * self.served.segment_length, memory

    def _publish_system_prompt(self, session: Session, rendered: RenderedChat) -> None:
        """Publishes the system prompt's segments once this session's sequence holds them all."""
        hashes = self._system_hashes(rendered)
        if not hashes or session.published or session.prefix_tokens or session.cache.segments < len(hashes):
            return
        memory, _ = self.client.read_memory(session.cache.sequences[0], 0, len(hashes), output_layout="heads_major")
        if memory is not None:
            self.client.publish_prefix(hashes, memory.keys, memory.values, memory.positions, model=self.model_name)
            session.published = True
