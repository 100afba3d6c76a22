"""Sequential-editing benchmark: T = 1, 10, 100 edits of the synthetic set, like Table 2 of WISE.

    python -m memkit.editing.benchmark [--backends wise ft-l] [--t 1 10 100] [--out DIR]

For each back end and each T it starts from the unedited base model (SmolLM2-135M-Instruct
unless ``--base-model``), records the locality probes' predictions, writes the first T
synthetic edits one after another, and only then measures Reliability, Generalization
and Locality (EasyEdit definitions) and the seconds per edit.  Prints a table, writes
``results.json`` and ``results.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

__all__ = ["run_benchmark", "main"]


def _machine(device: str) -> dict[str, Any]:
    import os

    import torch

    info: dict[str, Any] = {
        "device": device,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _configs(backends: list[str], base_model: str | None,
             overrides: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Each back end's config with its overrides applied, checked before any model is loaded."""
    from pydantic import ValidationError

    from memkit.errors import ConfigError, validation_message
    from memkit.registry import parametric_memories

    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(backends))
    if unknown:
        raise ConfigError(f"overrides for back ends that are not run: {unknown} (run: {backends})")
    configs: dict[str, Any] = {}
    for name in backends:
        config = parametric_memories.get(name).default_config(str(base_model) if base_model else "smollm2-135m-instruct")
        if name in overrides:
            try:
                config = type(config).model_validate({**config.model_dump(), **overrides[name]})
            except ValidationError as exc:
                raise ConfigError(f"{name}: {validation_message(exc, 'config')}") from None
        configs[name] = config
    return configs


def run_benchmark(
    backends: list[str],
    ts: list[int],
    *,
    seed: int = 0,
    base_model: str | None = None,
    device: str | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every (back end, T) pair; returns the results as a JSON-ready dict."""
    import copy

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from memkit.editing import create_memory, evaluate_edits, locality_baseline, synthetic_edits
    from memkit.hf.load import load_base_model, resolve_device

    configs = _configs(backends, base_model, overrides)
    device = resolve_device(device)
    master, tokenizer = load_base_model(base_model, device=device)
    rows: list[dict[str, Any]] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress) as bar:
        overall = bar.add_task("all runs", total=len(backends) * sum(ts))
        for name in backends:
            for t in ts:
                edits = synthetic_edits(t, seed=seed)
                memory = create_memory(name, config=configs[name].model_copy(deep=True), model=copy.deepcopy(master),
                                       tokenizer=tokenizer, base_model=base_model)
                baseline = locality_baseline(memory, edits)
                task = bar.add_task(f"{name} T={t}", total=t)
                seconds = 0.0
                for edit in edits:
                    start = time.perf_counter()
                    memory.write([edit])
                    seconds += time.perf_counter() - start
                    bar.advance(task)
                    bar.advance(overall)
                metrics = evaluate_edits(memory, edits, baseline)
                rows.append({
                    "backend": name, "T": t, "reliability": metrics.reliability,
                    "generalization": metrics.generalization, "locality": metrics.locality,
                    "seconds_per_edit": seconds / t, "seconds": seconds,
                    "describe": {k: v for k, v in memory.describe().items() if k != "config"},
                    "config": memory.config.model_dump(mode="json"),
                })
                bar.remove_task(task)
                del memory
    return {"base_model": base_model or "smollm2-135m-instruct", "seed": seed, "machine": _machine(device),
            "results": rows}


def print_table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Sequential editing on {data['base_model']} ({data['machine']['device']})")
    for col in ("method", "T", "Rel.", "Gen.", "Loc.", "s/edit"):
        table.add_column(col, justify="right" if col != "method" else "left")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    for r in data["results"]:
        table.add_row(r["backend"], str(r["T"]), fmt(r["reliability"]), fmt(r["generalization"]),
                      fmt(r["locality"]), f"{r['seconds_per_edit']:.1f}")
    Console().print(table)


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("reliability", "Rel."), ("generalization", "Gen."), ("locality", "Loc.")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    backends = sorted({r["backend"] for r in data["results"]})
    for ax, (key, label) in zip(axes, metrics, strict=True):
        for name in backends:
            rows = sorted((r for r in data["results"] if r["backend"] == name), key=lambda r: r["T"])
            ax.plot([r["T"] for r in rows], [r[key] if r[key] is not None else float("nan") for r in rows],
                    marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("T (sequential edits)")
        ax.set_title(label)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"{data['base_model']} on {data['machine'].get('gpu', data['machine']['device'])}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memkit.editing.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["wise", "ft-l"])
    parser.add_argument("--t", nargs="+", type=int, default=[1, 10, 100], help="numbers of sequential edits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-model", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="BACKEND.KEY=JSON config override, e.g. wise.n_iter=30 (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("editing-benchmark"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from memkit.config import parse_assignment
    from memkit.hf.load import require_editing_deps

    require_editing_deps()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    overrides: dict[str, dict[str, Any]] = {}
    for item in args.overrides:
        try:
            key, value = parse_assignment(item)
        except ValueError:
            parser.error(f"--set {item!r}: expected BACKEND.KEY=JSON")
        backend, _, field = key.partition(".")
        if not field:
            parser.error(f"--set {item!r}: expected BACKEND.KEY=JSON")
        overrides.setdefault(backend, {})[field] = value
    from memkit.errors import ConfigError

    try:
        data = run_benchmark(args.backends, args.t, seed=args.seed, base_model=args.base_model, device=args.device,
                             overrides=overrides, progress=not args.no_progress)
    except ConfigError as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(data, indent=2))
    print_table(data)
    plot(data, args.out / "results.png")
    print(f"results: {args.out / 'results.json'}  plot: {args.out / 'results.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
