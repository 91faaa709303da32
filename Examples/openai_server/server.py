#!/usr/bin/env python3
"""An OpenAI-compatible chat server on transformers + LomadCache: `POST /v1/chat/completions`.

    python3 Examples/openai_server/server.py --model Models/loma-tiny --port 8000

starts a private lomad for the checkpoint (or uses `--endpoint`) and serves the chat completions
API, streaming (server-sent events) or not, to any OpenAI client:

    client = openai.OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")
    client.chat.completions.create(model="loma-tiny", messages=[...], extra_body={"session": "chat-1"})

`session` (or the `X-Session-Id` header) keeps a conversation's memory in lomad between turns;
`usage` adds what the cache holds (`covered_tokens`, `memory_tokens`, `raw_tokens`, `segments`)
and what the turn did not run again (`resumed_tokens`, `prefix_tokens`). Engine: engine.py.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import ChatEngine, Turn  # noqa: E402
from schemas import ChatRequest  # noqa: E402

from fastapi import FastAPI, Header, HTTPException, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse, StreamingResponse  # noqa: E402
from lomad_client import Client, LomadError  # noqa: E402
from lomad_client.daemon import LocalDaemon  # noqa: E402


def create_app(engine: ChatEngine) -> FastAPI:
    app = FastAPI(title="lomad chat server")

    # Errors in OpenAI's shape ({"error": {"message", "type", ...}}), so its clients show the message.
    @app.exception_handler(RequestValidationError)
    def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'body'}: {problem['msg']}"
                             for problem in error.errors())
        return openai_error(400, problems, "invalid_request_error")

    @app.exception_handler(HTTPException)
    def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        kind = "not_found_error" if error.status_code == 404 else "api_error"
        return openai_error(error.status_code, str(error.detail), kind)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": engine.name, "object": "model", "owned_by": "lomad"}]}

    @app.post("/v1/chat/completions", response_model=None)
    def chat_completions(request: ChatRequest, x_session_id: str | None = Header(default=None)):
        if request.model and request.model != engine.name:
            raise HTTPException(404, f"model {request.model!r} is not served here (served: {engine.name!r})")
        session = request.session or x_session_id
        messages = [{"role": message.role, "content": message.content} for message in request.messages]
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        # One turn at a time: the model and the lomad client are not thread-safe. A streamed turn
        # holds the lock until its last event is written (the generator releases it).
        engine.lock.acquire()
        try:
            turn = engine.start_turn(messages, session, request.token_budget(engine.default_max_tokens),
                                     request.temperature, request.top_p, request.seed)
        except LomadError as error:
            engine.lock.release()
            raise HTTPException(502, f"lomad: {error.kind}: {error}") from error
        except BaseException:
            engine.lock.release()
            raise
        if request.stream:
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            return StreamingResponse(stream_events(engine, turn, completion_id, include_usage),
                                     media_type="text/event-stream")
        try:
            content = "".join(turn.pieces())
        finally:
            engine.lock.release()
        return JSONResponse({
            "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": engine.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": turn.finish_reason}],
            "usage": turn.usage.as_openai(),
        })

    return app


def openai_error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status)


def stream_events(engine: ChatEngine, turn: Turn, completion_id: str, include_usage: bool) -> Iterator[str]:
    """Server-sent events as OpenAI streams them: a role chunk, content chunks, a finish chunk, a
    usage chunk when asked for, then `[DONE]`."""
    created = int(time.time())

    def event(delta: dict[str, Any], finish_reason: str | None = None, usage: dict | None = None) -> str:
        chunk: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                                 "model": engine.name,
                                 "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
        if usage:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk)}\n\n"

    try:
        yield event({"role": "assistant", "content": ""})
        for piece in turn.pieces():
            yield event({"content": piece})
        yield event({}, turn.finish_reason)
        if include_usage:
            yield event({}, usage=turn.usage.as_openai())
        yield "data: [DONE]\n\n"
    finally:
        engine.lock.release()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="HF checkpoint folder of a LoMA model")
    parser.add_argument("--endpoint", help="a running lomad that serves the model; default: start one")
    parser.add_argument("--model-name", default="", help="the model's name in that lomad (default: its only model)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: any free port (printed)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--max-tokens", type=int, default=64, help="answer length when a request names none")
    arguments = parser.parse_args(argv)
    if not (arguments.model / "config.json").exists():
        parser.error(f"{arguments.model}: no config.json")

    import torch
    import uvicorn

    torch.set_num_threads(1)  # one turn at a time anyway; leave the other cores to lomad
    daemon = None
    if not arguments.endpoint:
        daemon = LocalDaemon({arguments.model.name: arguments.model}, search_from=__file__).start()
    try:
        with Client(arguments.endpoint or daemon.endpoint, timeout=60.0) as client:
            engine = ChatEngine(arguments.model, client, arguments.model_name or (arguments.model.name if daemon else ""),
                                arguments.dtype, arguments.max_tokens)
            listener = socket.create_server((arguments.host, arguments.port))
            host, port = listener.getsockname()[:2]
            print(f"serving {engine.name} on http://{host}:{port}/v1", flush=True)
            server = uvicorn.Server(uvicorn.Config(create_app(engine), log_level="warning"))
            server.run(sockets=[listener])
    finally:
        if daemon:
            daemon.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
