"""The on-disk layout of a saved parametric memory (light: no torch needed to read it).

A folder with ``memkit-memory.json`` (back end, base-model reference, layer, config,
routing state, the written requests) and ``memory.safetensors`` (side weights only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memkit.errors import EditingError

__all__ = ["MANIFEST", "TENSORS", "FORMAT", "read_manifest"]

MANIFEST = "memkit-memory.json"
TENSORS = "memory.safetensors"
FORMAT = "memkit.parametric/1"


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of the memory saved in folder ``path``."""
    file = Path(path).expanduser() / MANIFEST
    if not file.is_file():
        raise EditingError(f"{path} is not a saved memkit parametric memory (no {MANIFEST})")
    try:
        manifest = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise EditingError(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise EditingError(f"{file} has an unknown format {manifest.get('format') if isinstance(manifest, dict) else None!r}")
    return manifest
