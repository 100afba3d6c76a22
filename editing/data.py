"""Reading edit sets in the EasyEdit formats (ZsRE, CounterFact, or flat request records)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from memkit.editing.types import EditRequest
from memkit.errors import InvalidInputError, validation_message

__all__ = ["load_edit_dataset", "parse_edit_record"]

Format = Literal["auto", "easyedit", "zsre", "counterfact"]


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _zsre(rec: dict[str, Any], index: int) -> dict[str, Any]:
    # zsre_mend_eval.json: src, alt, answers, rephrase, loc ("nq question: ..."), loc_ans, subject
    loc = rec.get("loc")
    if isinstance(loc, str) and loc.startswith("nq question: "):
        loc = loc[len("nq question: ") :]
    return {
        "id": str(rec.get("case_id", rec.get("id", index))),
        "prompt": rec["src"],
        "target_new": _first(rec["alt"]),
        "ground_truth": _first(rec.get("answers")),
        "rephrase_prompt": rec.get("rephrase"),
        "locality_prompt": loc,
        "locality_ground_truth": _first(rec.get("loc_ans")) if loc else None,
        "subject": rec.get("subject"),
    }


def _counterfact(rec: dict[str, Any], index: int) -> dict[str, Any]:
    # ROME's counterfact.json: requested_rewrite{prompt with {}, subject, target_new.str, target_true.str}
    rw = rec["requested_rewrite"]
    subject = rw["subject"]
    neighborhood = rec.get("neighborhood_prompts") or []
    return {
        "id": str(rec.get("case_id", index)),
        "prompt": rw["prompt"].format(subject) if "{}" in rw["prompt"] else rw["prompt"],
        "target_new": rw["target_new"]["str"],
        "ground_truth": rw.get("target_true", {}).get("str"),
        "rephrase_prompt": _first(rec.get("paraphrase_prompts")),
        "locality_prompt": _first(neighborhood),
        "locality_ground_truth": rw.get("target_true", {}).get("str") if neighborhood else None,
        "subject": subject,
    }


def _easyedit(rec: dict[str, Any], index: int) -> dict[str, Any]:
    # EasyEdit's flat records; locality may be nested as {"neighborhood": {"prompt", "ground_truth"}}
    out = {k: rec.get(k) for k in ("prompt", "target_new", "ground_truth", "rephrase_prompt", "subject")}
    out["id"] = str(rec.get("case_id", rec.get("id", index)))
    loc_p, loc_a = rec.get("locality_prompt"), rec.get("locality_ground_truth")
    if loc_p is None and isinstance(rec.get("locality"), dict):
        first = next(iter(rec["locality"].values()), {})
        if isinstance(first, dict):
            loc_p, loc_a = first.get("prompt"), first.get("ground_truth")
    out["locality_prompt"], out["locality_ground_truth"] = _first(loc_p), _first(loc_a)
    out["target_new"], out["ground_truth"] = _first(out["target_new"]), _first(out["ground_truth"])
    out["rephrase_prompt"] = _first(out["rephrase_prompt"])
    return out


def _detect(rec: dict[str, Any]) -> Format:
    if "requested_rewrite" in rec:
        return "counterfact"
    if "src" in rec and "alt" in rec:
        return "zsre"
    if "prompt" in rec and "target_new" in rec:
        return "easyedit"
    raise InvalidInputError(f"unrecognised edit record with keys {sorted(rec)}")


_PARSERS = {"zsre": _zsre, "counterfact": _counterfact, "easyedit": _easyedit}


def parse_edit_record(rec: dict[str, Any], index: int = 0, fmt: Format = "auto") -> EditRequest:
    """One record of any supported format as an :class:`EditRequest`."""
    if not isinstance(rec, dict):
        raise InvalidInputError(f"record {index} is not a JSON object")
    kind = _detect(rec) if fmt == "auto" else fmt
    try:
        fields = _PARSERS[kind](rec, index)
    except KeyError as exc:
        raise InvalidInputError(f"record {index} lacks the {kind} field {exc}") from None
    try:
        return EditRequest.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInputError(f"record {index} is not a valid edit: {validation_message(exc, 'record')}") from None


def _records(path: Path) -> Iterable[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, dict):
        for key in ("data", "edits", "requests"):
            if isinstance(data.get(key), list):
                return data[key]
        raise InvalidInputError(f"{path}: expected a JSON list of edit records")
    return data


def load_edit_dataset(path: str | Path, *, fmt: Format = "auto", limit: int | None = None) -> list[EditRequest]:
    """Read a ZsRE / CounterFact / EasyEdit JSON (or JSONL) file of edits."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidInputError(f"no edit dataset at {file}")
    try:
        records = list(_records(file))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{file} is not valid JSON: {exc}") from None
    if limit is not None:
        records = records[:limit]
    return [parse_edit_record(rec, i, fmt) for i, rec in enumerate(records)]
