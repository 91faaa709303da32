"""The chat server in a subprocess on a loopback port, a real lomad, the official `openai` client.

Models/loma-tiny answers poorly (a byte-level model of 3 MB): what is checked is that the answers
are exactly those of the independent generation (transformers with a numpy-rebuilt cache, memory
from the numpy reference; Examples/generation), turn after turn, streamed or not, with the
system prompt's memory found by another session.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import openai
import pytest

from testing_support import REPO_ROOT
from lomad_client import Client
from lomad_client.daemon import LocalDaemon

SERVER_DIR = REPO_ROOT / "Examples" / "openai_server"
LOMA_TINY = REPO_ROOT / "Models" / "loma-tiny"
sys.path.insert(0, str(SERVER_DIR))
sys.path.insert(0, str(REPO_ROOT / "Examples" / "generation"))
from chat_template import render  # noqa: E402
from compressors import ReferenceCompressor  # noqa: E402
from generation import Generation  # noqa: E402
from transformers_model import TransformersModel  # noqa: E402

ANSWER_TOKENS = 20
SEGMENT = 32  # loma-tiny's segment_length
MEMORY_PER_SEGMENT = 8


@pytest.fixture(scope="module")
def tiny_daemon():
    with LocalDaemon({"loma-tiny": LOMA_TINY}) as running:
        yield running


@contextlib.contextmanager
def running_server(endpoint: str) -> Iterator[str]:
    """server.py in a subprocess on a free loopback port; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER_DIR / "server.py"), "--model", str(LOMA_TINY), "--endpoint", endpoint, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "serving loma-tiny on http://127.0.0.1:PORT/v1", or EOF if it failed
        assert line.startswith("serving loma-tiny on http://127.0.0.1:"), process.stderr.read() if process.stderr else line
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tiny_daemon):
    with running_server(tiny_daemon.endpoint) as url:
        yield url


@pytest.fixture
def chat(server):
    return openai.OpenAI(base_url=server, api_key="unused", max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(LOMA_TINY))


@pytest.fixture(scope="module")
def reference_model():
    return TransformersModel(LOMA_TINY, "float32")


def reference_answer(model, tokenizer, messages: list[dict[str, str]], tokens: int = ANSWER_TOKENS) -> str:
    """The answer the independent generation gives: greedy, memory from the numpy reference,
    cut at the end-of-text id as the server stops there."""
    ids = render(tokenizer, messages).ids
    produced = list(Generation(model, ReferenceCompressor(LOMA_TINY, model.config)).greedy(ids, tokens))
    if tokenizer.eos_token_id in produced:
        produced = produced[:produced.index(tokenizer.eos_token_id)]
    return tokenizer.decode(produced)


def system_prompt() -> dict[str, str]:
    # Unique per test from its first segment on (the store is shared, chunk hashes chain from the
    # first token), and over two segments of loma-tiny once rendered.
    return {"role": "system", "content": f"[{uuid.uuid4().hex}] You answer questions about Debian packages, briefly."}


def ask(chat, messages, session: str | None = None, **options):
    extra = {"session": session} if session else None
    return chat.chat.completions.create(model="loma-tiny", messages=messages, temperature=0, max_tokens=ANSWER_TOKENS,
                                        extra_body=extra, **options)


def test_an_answer_equals_the_reference_generation(chat, tokenizer, reference_model):
    messages = [system_prompt(), {"role": "user", "content": "What does apt-get do?"}]
    reply = ask(chat, messages, session=f"one-{uuid.uuid4().hex[:8]}")
    assert reply.choices[0].message.content == reference_answer(reference_model, tokenizer, messages)
    usage = reply.usage
    prompt_tokens = len(render(tokenizer, messages).ids)
    assert usage.prompt_tokens == prompt_tokens and usage.completion_tokens == ANSWER_TOKENS
    covered = prompt_tokens + ANSWER_TOKENS - 1  # the last answer token is never run
    assert usage.covered_tokens == covered
    assert usage.memory_tokens == covered // SEGMENT * MEMORY_PER_SEGMENT
    assert usage.raw_tokens == covered % SEGMENT and usage.segments == covered // SEGMENT


def test_the_next_turn_resumes_from_memory(chat, tokenizer, reference_model, tiny_daemon):
    session = f"two-{uuid.uuid4().hex[:8]}"
    first = [system_prompt(), {"role": "user", "content": "What is dpkg?"}]
    answer = ask(chat, first, session=session)
    second = first + [{"role": "assistant", "content": answer.choices[0].message.content},
                      {"role": "user", "content": "And apt?"}]
    reply = ask(chat, second, session=session)
    assert reply.usage.resumed_tokens == answer.usage.covered_tokens  # nothing of turn one ran again
    assert reply.choices[0].message.content == reference_answer(reference_model, tokenizer, second)
    with Client(tiny_daemon.endpoint) as client:
        _, info = client.read_memory(f"chat-{session}", segment_count=1)
    assert info.segments == reply.usage.segments
    assert info.next_position == reply.usage.segments * SEGMENT


def test_another_server_process_resumes_the_session(chat, tiny_daemon, tokenizer, reference_model):
    """A second server, sharing only lomad with the first, continues the conversation from the
    sequence's memory: it re-runs the raw tail lomad never held, not the compressed segments."""
    session = f"moved-{uuid.uuid4().hex[:8]}"
    first = [system_prompt(), {"role": "user", "content": "Which tool installs a .deb file?"}]
    answer = ask(chat, first, session=session)
    second = first + [{"role": "assistant", "content": answer.choices[0].message.content},
                      {"role": "user", "content": "Thanks"}]
    with running_server(tiny_daemon.endpoint) as url:
        other = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=300)
        reply = ask(other, second, session=session)
    assert reply.usage.resumed_tokens == answer.usage.segments * SEGMENT
    assert reply.choices[0].message.content == reference_answer(reference_model, tokenizer, second)


def test_the_session_header_works_like_the_field(chat):
    session = f"header-{uuid.uuid4().hex[:8]}"
    first = [system_prompt(), {"role": "user", "content": "Hello"}]
    headers = {"X-Session-Id": session}
    answer = ask(chat, first, extra_headers=headers)
    second = first + [{"role": "assistant", "content": answer.choices[0].message.content},
                      {"role": "user", "content": "Again"}]
    assert ask(chat, second, extra_headers=headers).usage.resumed_tokens == answer.usage.covered_tokens


def test_a_streamed_answer_equals_the_whole_one(chat):
    messages = [system_prompt(), {"role": "user", "content": "Name a package manager."}]
    whole = ask(chat, messages)
    pieces, usage, finish = [], None, None
    for chunk in ask(chat, messages, stream=True, stream_options={"include_usage": True}):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces) == whole.choices[0].message.content
    assert len(pieces) > 2  # a role chunk and one chunk per piece of text, not one blob
    assert finish == whole.choices[0].finish_reason
    assert usage is not None and usage.completion_tokens == whole.usage.completion_tokens


def test_the_system_prompt_memory_is_found_by_another_session(chat, tokenizer, reference_model):
    system = system_prompt()
    publisher = ask(chat, [system, {"role": "user", "content": "First question"}], session=f"pub-{uuid.uuid4().hex[:8]}")
    assert publisher.usage.prefix_tokens == 0
    system_tokens = render(tokenizer, [system]).system_tokens
    assert system_tokens >= 2 * SEGMENT
    messages = [system, {"role": "user", "content": "A different question"}]
    reader = ask(chat, messages, session=f"reader-{uuid.uuid4().hex[:8]}")
    assert reader.usage.prefix_tokens == system_tokens // SEGMENT * SEGMENT
    # Memory found, not recomputed, and the answer is still the reference's.
    assert reader.choices[0].message.content == reference_answer(reference_model, tokenizer, messages)


def test_seeded_sampling_repeats(chat):
    messages = [system_prompt(), {"role": "user", "content": "Say something"}]
    draws = [chat.chat.completions.create(model="loma-tiny", messages=messages, temperature=1.0, seed=11,
                                          max_tokens=ANSWER_TOKENS).choices[0].message.content for _ in range(2)]
    assert draws[0] == draws[1]
    assert draws[0] != ask(chat, messages).choices[0].message.content


def test_an_answer_without_a_session_leaves_nothing_in_lomad(chat, tiny_daemon):
    ask(chat, [system_prompt(), {"role": "user", "content": "Anything"}])
    with Client(tiny_daemon.endpoint) as client:
        assert client.list_sequences("chat-scratch-") == []


def test_bad_requests_get_clear_errors(chat):
    with pytest.raises(openai.BadRequestError, match="messages: Value error, messages must hold at least one message"):
        chat.chat.completions.create(model="loma-tiny", messages=[])
    with pytest.raises(openai.NotFoundError, match="model 'gpt-4' is not served here"):
        chat.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="the last message must be the user's"):
        chat.chat.completions.create(model="loma-tiny", messages=[{"role": "assistant", "content": "hi"}])
