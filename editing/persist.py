"""The on-disk layout of a saved parametric memory (light: no torch needed to read it).

A folder with ``memkit-memory.json`` (back end, base-model reference, layer, config,
routing state, the written requests) and ``memory.safetensors`` (side weights only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memkit.errors import EditingError

__all__ = ["MANIFEST", "TENSORS", "FORMAT", "read_manifest", "write_memory"]

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


def write_memory(path: str | Path, backend: str, tensors: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """Save a memory to folder ``path``: its ``tensors`` (moved to the CPU) and a manifest of ``backend`` with
    ``manifest``'s entries, each file written beside and then renamed, so a crash leaves the previous save whole."""
    from safetensors.torch import save_file

    from memkit.errors import InvalidInputError

    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (TENSORS + ".tmp")
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp))
    tmp.replace(folder / TENSORS)
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "backend": backend, **manifest}, indent=2))
    tmp.replace(folder / MANIFEST)
    return folder
