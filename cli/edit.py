"""``memkit edit`` (alias ``consolidate``): write a store's facts into a parametric memory.

    memkit edit --backend wise --out DIR [--store PATH] [--limit N]
    memkit edit --backend compression --weights FILE --out DIR  # whole notes into a document memory
    memkit edit --backend wise --out DIR --edits zsre.json      # an EasyEdit edit set instead
    memkit edit query DIR "The capital of Atlantis is"
    memkit edit describe DIR
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from memkit.cli.group import MemkitGroup
from memkit.cli.render import visible

__all__ = ["edit"]


def _store(ctx: click.Context, store: Path | None) -> Path:
    if store is not None:
        return store
    parent = (ctx.obj or {}).get("store") if isinstance(ctx.obj, dict) else None
    if parent is not None:
        return Path(parent)
    from memkit.config import default_home

    return default_home()


@click.group("edit", cls=MemkitGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--backend", default="wise", show_default=True,
              help="registered parametric memory (wise, wise-retrieve, wise-embed, ft-l, compression, adapter, dsi)")
@click.option("--profile", default=None,
              help="a named config profile of a WISE back end instead of the paper's settings (smollm2)")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="trained weights of a document memory (compression, adapter)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="folder to save the memory in")
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="memory folder to read notes from (default: the main --store)")
@click.option("--edits", "edits_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="write this ZsRE/CounterFact/EasyEdit JSON file instead of the store's notes")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="at most this many edits")
@click.option("--user", "user_id", default=None, help="only this user's notes")
@click.option("--base-model", default=None, help="base model folder or .gguf (default: SmolLM2-135M-Instruct)")
@click.option("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.pass_context
def edit(ctx: click.Context, backend: str, profile: str | None, weights: Path | None, out: Path | None, store: Path | None,
         edits_file: Path | None, limit: int | None, user_id: str | None, base_model: str | None, device: str | None,
         as_json: bool) -> None:
    """Consolidate notes into a parametric memory (facts into WISE edits, whole notes into a document memory) and
    save it."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise click.UsageError("give --out DIR (where the edited memory is saved), or a sub-command")
    from memkit.editing import create_memory
    from memkit.registry import parametric_memories

    options: dict[str, Any] = {}
    if weights is not None:
        config_class = parametric_memories.config_class(backend)
        if config_class is None or "weights" not in config_class.model_fields:
            raise click.UsageError(f"--weights is for document memories (compression, adapter), not {backend!r}")
        options["config"] = config_class(weights=str(weights))
    if profile is not None:
        make = getattr(parametric_memories.get(backend), "profile_config", None)
        if make is None:
            raise click.UsageError(f"--profile is for the WISE back ends, not {backend!r}")
        options["config"] = make(profile)
    memory = create_memory(backend, base_model=base_model, device=device, **options)
    if edits_file is not None:
        from memkit.editing import load_edit_dataset

        requests = load_edit_dataset(edits_file, limit=limit)
        written = memory.write(requests, progress=True)
        report: dict[str, Any] = {"backend": backend, "written": written.written, "seconds": round(written.seconds, 2)}
    else:
        from memkit.memory import Memory

        mem = Memory(_store(ctx, store), create=False)
        try:
            result = mem.consolidate(memory, limit=limit, user_id=user_id, progress=True)
        finally:
            mem.close()
        report = result.model_dump(mode="json")
    folder = memory.save(out)
    report["saved_to"] = str(folder)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    what = "document(s)" if getattr(memory, "takes_documents", False) else "edit(s)"
    click.echo(f"wrote {report['written']} {what} into {visible(backend)}; saved to {visible(folder)}")
    for skipped in report.get("skipped", []):
        click.echo(f"  skipped {visible(skipped['note_id'])}: {visible(skipped['reason'])}")


@edit.command("query")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("prompts", nargs=-1, required=True)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=24, show_default=True)
@click.option("--device", default=None)
def query(folder: Path, prompts: tuple[str, ...], max_new_tokens: int, device: str | None) -> None:
    """Reload a saved memory and answer PROMPTS with it."""
    from memkit.editing import load_memory

    memory = load_memory(str(folder), device=device)
    for prompt, answer in zip(prompts, memory.generate(list(prompts), max_new_tokens=max_new_tokens), strict=True):
        click.echo(f"{visible(prompt)} -> {visible(answer.strip())}")


@edit.command("describe")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
def describe(folder: Path) -> None:
    """Print what a saved memory holds (without loading the model)."""
    from memkit.editing.persist import read_manifest

    manifest = read_manifest(folder)
    summary = {k: manifest[k] for k in ("backend", "base_model", "layer", "writes", "config") if k in manifest}
    for held in ("requests", "documents"):  # a weight editor's edits, a document memory's documents
        if held in manifest:
            summary[held] = manifest[held][:20]
    click.echo(json.dumps(summary, indent=2))


consolidate = edit  # the alias the main CLI may register as `memkit consolidate`
