"""Ask a litellm model for JSON that validates against a pydantic schema, with retries.

litellm is imported here, lazily, with its model-cost-map fetch and debug banner off.
A model that keeps answering with broken JSON yields ``JSONResult(value=None, ...)``;
the caller decides the fallback (a memory is never dropped for a bad answer).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memkit.errors import MissingDependencyError

__all__ = ["JSONResult", "complete_json", "complete_text", "litellm_module", "extract_json", "response_format",
           "wants_schema"]

M = TypeVar("M", bound=BaseModel)
UNREACHABLE_PAUSE_S, UNREACHABLE_MAX_PAUSE_S = 30.0, 600.0
_UNREACHABLE: dict[tuple[str, Any], tuple[float, float]] = {}  # (model, api_base) -> (failed at, pause)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


class JSONResult(BaseModel, Generic[M]):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    value: M | None = None
    attempts: int = 0
    errors: list[str] = Field(default_factory=list)
    raw: str | None = None


def litellm_module() -> Any:
    """Import litellm quietly (no cost-map fetch, no banner) and register memkit's local provider."""
    from memkit import _env

    _env.apply()
    try:
        import litellm
    except ImportError:
        raise MissingDependencyError("litellm", purpose="LLM note building") from None
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    # litellm's provider types (e.g. ollama's) make pydantic warn about ReadOnly items on first use
    warnings.filterwarnings("ignore", message=r".*using the `ReadOnly` qualifier", category=UserWarning,
                            module=r"pydantic\..*")
    from memkit.llm.local import register_local_provider

    register_local_provider(litellm)
    return litellm


def extract_json(text: str) -> Any:
    """The first JSON object in ``text`` (code fences and chatter around it are tolerated)."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in the answer")
    decoder = json.JSONDecoder()
    obj, _ = decoder.raw_decode(text[start:])
    return obj


def complete_text(model: str, messages: list[dict[str, str]], **params: Any) -> str:
    import openai

    litellm = litellm_module()
    try:
        resp = litellm.completion(model=model, messages=messages, **params)
    except openai.OpenAIError as exc:
        from memkit.errors import LLMError

        raise LLMError(f"{model}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    return resp.choices[0].message.content or ""


def wants_schema(model: str) -> bool:
    """Should ``model`` be sent the JSON schema as ``response_format``?  ``local/...`` models decode under it
    (constrained decoding); others get it where litellm says they take a response schema."""
    if model.startswith("local/"):
        return True
    return bool(litellm_module().supports_response_schema(model=model))


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """litellm's (OpenAI's) ``response_format`` for a JSON schema."""
    return {"type": "json_schema", "json_schema": {"name": re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "answer",
                                                   "schema": schema}}


def complete_json(
    model: str,
    messages: list[dict[str, str]],
    schema: type[M],
    *,
    retries: int = 2,
    response_schema: dict[str, Any] | None = None,
    **params: Any,
) -> JSONResult[M]:
    """Call ``model`` up to ``1 + retries`` times until its answer parses as ``schema``.

    The model is also sent ``response_schema`` (default: ``schema``'s JSON schema; it may be narrower,
    never wider) as ``response_format`` where it takes one (:func:`wants_schema`) and ``params`` has none:
    ``local/...`` models then always answer valid JSON.

    A model that cannot be reached (connection refused, timed out) is not retried, and then not
    called at all for a pause (30 s, doubling while it stays unreachable, at most 10 min): notes
    built while the server is down fall back at once instead of each waiting on every retry.
    """
    import openai

    litellm = litellm_module()
    if "response_format" not in params and wants_schema(model):
        params["response_format"] = response_format(schema.__name__, response_schema or schema.model_json_schema())
    result: JSONResult[M] = JSONResult()
    server = (model, params.get("api_base"))
    down = _UNREACHABLE.get(server)
    if down is not None and time.monotonic() < down[0] + down[1]:
        result.errors.append(f"unreachable: the last call failed {time.monotonic() - down[0]:.0f}s ago; not called "
                             f"again until {down[1]:.0f}s after it")
        return result
    convo = list(messages)
    for _ in range(1 + retries):
        result.attempts += 1
        try:
            resp = litellm.completion(model=model, messages=convo, **params)
        except openai.OpenAIError as exc:
            msg = str(exc).splitlines()[0] if str(exc) else ""
            result.errors.append(f"{type(exc).__name__}: {msg}"[:300])
            if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
                pause = min(2 * down[1], UNREACHABLE_MAX_PAUSE_S) if down else UNREACHABLE_PAUSE_S
                _UNREACHABLE[server] = (time.monotonic(), pause)
                return result
            continue
        _UNREACHABLE.pop(server, None)
        text = resp.choices[0].message.content or ""
        result.raw = text
        try:
            result.value = schema.model_validate(extract_json(text))
            return result
        except (ValueError, ValidationError) as exc:
            error = str(exc).splitlines()[0][:300]
            result.errors.append(f"invalid JSON answer: {error}")
            convo = list(messages) + [
                {"role": "assistant", "content": text[:2000]},
                {"role": "user", "content": f"That was not valid JSON for the schema ({error}). "
                                            "Answer again with only the JSON object."},
            ]
    return result
