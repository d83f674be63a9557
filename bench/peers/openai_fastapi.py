"""A peer for bench/openai.sh, not shipped: the OpenAI chat-completions stream as the
earlier project would have written it, FastAPI and uvicorn, burning each token's CPU
on the event loop (as the seed app's /infer does; but to a thread-CPU-time budget
rather than a calibrated loop count, so both servers spend exactly the same CPU per
token) with the same pacing as infer-serve:
a prefill of PREFILL_MS per prompt token, then WORK_MS per token, one SSE chunk per
token. `await asyncio.sleep(0)` after each token lets concurrent streams interleave, as
infer-serve's do. Run with as many uvicorn workers as cores for a fair comparison.

Env: WORK_MS (default 2), PREFILL_MS (default 0.5), MODEL (default sim-mlp-2x128).
"""
import asyncio
import json
import os
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

MODEL = os.getenv("MODEL", "sim-mlp-2x128")


def burn(ms: float) -> None:
    """Spends `ms` of this thread's CPU, as infer-serve does (to a CPU-time budget, so
    the two spend the same per token whatever the machine's speed)."""
    if ms <= 0:
        return
    end = time.thread_time() + ms / 1000.0
    acc = 0
    while time.thread_time() < end:
        for i in range(200):
            acc = (acc + i * i) % 1_000_003


WORK_MS = float(os.getenv("WORK_MS", "2"))
PREFILL_MS = float(os.getenv("PREFILL_MS", "0.5"))
app = FastAPI(title="openai-peer")


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.post("/v1/chat/completions")
async def chat(request: Request):
    body = await request.json()
    max_tokens = int(body.get("max_tokens") or 16)
    prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    prompt_tokens = len(prompt.split()) + 3 * len(body.get("messages", [])) + 3
    created = int(time.time())
    rid = f"chatcmpl-{time.monotonic_ns():x}"

    def chunk(delta, finish=None):
        return {"id": rid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    if not body.get("stream"):
        burn(PREFILL_MS * prompt_tokens)
        text = ""
        for i in range(max_tokens):
            burn(WORK_MS)
            text += " tok"
            await asyncio.sleep(0)
        return JSONResponse({"id": rid, "object": "chat.completion", "created": created, "model": MODEL,
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "length"}],
                             "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": max_tokens,
                                       "total_tokens": prompt_tokens + max_tokens}})

    async def events():
        burn(PREFILL_MS * prompt_tokens)
        yield f"data: {json.dumps(chunk({'role': 'assistant', 'content': ''}))}\n\n"
        for i in range(max_tokens):
            burn(WORK_MS)
            yield f"data: {json.dumps(chunk({'content': ' tok'}))}\n\n"
            await asyncio.sleep(0)
        yield f"data: {json.dumps(chunk({}, 'length'))}\n\n"
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": max_tokens, "total_tokens": prompt_tokens + max_tokens}
        yield f"data: {json.dumps({'id': rid, 'object': 'chat.completion.chunk', 'created': created, 'model': MODEL, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
