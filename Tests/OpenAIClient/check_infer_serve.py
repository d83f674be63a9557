"""The official OpenAI Python client against infer-serve: a streamed chat completion,
the same one whole, a completion, the model list and an unknown model. Prints what the
client assembled as one JSON object for the Swift test to check.

Usage: check_infer_serve.py BASE_URL   (e.g. http://127.0.0.1:8080/v1)
"""
import json
import sys

import openai

client = openai.OpenAI(base_url=sys.argv[1], api_key="not-needed", max_retries=0, timeout=30)
model = "sim-mlp-2x128"
messages = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello!"}]

stream = client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0, seed=3,
                                        stream=True, stream_options={"include_usage": True})
text, pieces, finish, usage, roles = "", 0, None, None, []
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        if choice.delta.role:
            roles.append(choice.delta.role)
        if choice.delta.content:
            text += choice.delta.content
            pieces += 1
        if choice.finish_reason:
            finish = choice.finish_reason

whole = client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0, seed=3)
completion = client.completions.create(model=model, prompt="Say this is a test", max_tokens=7, temperature=0)
models = [m.id for m in client.models.list()]
try:
    client.chat.completions.create(model="gpt-4o", messages=messages)
    unknown = "accepted"
except openai.NotFoundError as error:
    unknown = error.body.get("code") if isinstance(error.body, dict) else str(error.body)

print(json.dumps({
    "stream_text": text, "stream_pieces": pieces, "stream_finish": finish, "roles": roles,
    "stream_usage": [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens] if usage else None,
    "whole_text": whole.choices[0].message.content, "whole_finish": whole.choices[0].finish_reason,
    "whole_usage": [whole.usage.prompt_tokens, whole.usage.completion_tokens, whole.usage.total_tokens],
    "whole_object": whole.object, "completion_object": completion.object,
    "completion_text": completion.choices[0].text, "completion_usage": completion.usage.completion_tokens,
    "models": models, "unknown_model": unknown,
}))
