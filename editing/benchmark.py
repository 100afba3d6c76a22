"""Sequential-editing benchmark: T = 1, 10, 100 edits of the synthetic set, like Table 2 of WISE.

    python -m memkit.editing.benchmark [--backends unedited wise wise@smollm2 ft-l] [--t 1 10 100] [--out DIR]

For each back end and each T it starts from the unedited base model (SmolLM2-135M-Instruct
unless ``--base-model``), records the locality probes' predictions, writes the first T
synthetic edits one after another, and only then measures Reliability, Generalization
and Locality (EasyEdit definitions), the same as exact match (every target token right),
where rephrases and locality prompts were routed (memories with side memories), the side
memory's size per edit and the seconds per edit.  ``NAME@PROFILE`` runs back end NAME with
a named profile of its config (``wise@smollm2``); ``unedited`` is the base model's own row.
Prints a table, writes ``results.json`` and ``results.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

__all__ = ["run_benchmark", "main"]

UNEDITED = "unedited"


def _backend(name: str) -> tuple[str, str]:
    """The registered back end a benchmark row ``NAME`` or ``NAME@PROFILE`` runs, and the profile ('' for none);
    ``unedited`` is a weight editor that writes nothing: the base model."""
    backend, _, profile = name.partition("@")
    return ("ft-l" if backend == UNEDITED else backend), profile


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

    from memkit.errors import ConfigError, RegistryError, validation_message
    from memkit.registry import parametric_memories

    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(backends))
    if unknown:
        raise ConfigError(f"overrides for back ends that are not run: {unknown} (run: {backends})")
    configs: dict[str, Any] = {}
    for name in backends:
        backend, profile = _backend(name)
        try:
            cls = parametric_memories.get(backend)
        except RegistryError as exc:
            raise ConfigError(str(exc)) from None
        if profile:
            make = getattr(cls, "profile_config", None)
            if make is None:
                raise ConfigError(f"{backend} has no named profiles (asked for {name!r})")
            config = make(profile)
        else:
            config = cls.default_config(str(base_model) if base_model else "smollm2-135m-instruct")
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
                memory = create_memory(_backend(name)[0], config=configs[name].model_copy(deep=True),
                                       model=copy.deepcopy(master), tokenizer=tokenizer, base_model=base_model)
                baseline = locality_baseline(memory, edits)
                task = bar.add_task(f"{name} T={t}", total=t)
                seconds = 0.0
                for edit in edits if name != UNEDITED else []:
                    start = time.perf_counter()
                    memory.write([edit])
                    seconds += time.perf_counter() - start
                    bar.advance(task)
                    bar.advance(overall)
                metrics = evaluate_edits(memory, edits, baseline)
                described = {k: v for k, v in memory.describe().items() if k != "config"}
                rows.append({
                    "backend": name, "T": t, "reliability": metrics.reliability,
                    "generalization": metrics.generalization,
                    "locality": metrics.locality if name != UNEDITED else None,
                    "reliability_em": metrics.reliability_em, "generalization_em": metrics.generalization_em,
                    "routing": metrics.routing, "mb_per_edit": described.get("mb_per_edit"),
                    "seconds_per_edit": seconds / t if name != UNEDITED else None, "seconds": seconds,
                    "describe": described,
                    "config": None if name == UNEDITED else memory.config.model_dump(mode="json"),
                })
                if name == UNEDITED:
                    bar.advance(overall, t)
                bar.remove_task(task)
                del memory
    return {"base_model": base_model or "smollm2-135m-instruct", "seed": seed, "machine": _machine(device),
            "results": rows}


def print_table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Sequential editing on {data['base_model']} ({data['machine']['device']})")
    for col in ("method", "T", "Rel.", "Gen.", "Loc.", "Rel EM", "Gen EM", "rephrases own/main/other",
                "loc. to side", "MB/edit", "scored/fwd", "s/edit"):
        table.add_column(col, justify="right" if col != "method" else "left")

    def fmt(v: float | None, digits: int = 2) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    for r in data["results"]:
        routing = r.get("routing") or {}
        rephrase, locality = routing.get("rephrase"), routing.get("locality")
        shares = "/".join(f"{rephrase[k]:.2f}" for k in ("own", "main", "other")) if rephrase else "-"
        table.add_row(r["backend"], str(r["T"]), fmt(r["reliability"]), fmt(r["generalization"]),
                      fmt(r["locality"]), fmt(r.get("reliability_em")), fmt(r.get("generalization_em")), shares,
                      fmt(locality["side"]) if locality else "-", fmt(r.get("mb_per_edit"), 1),
                      str(r["describe"].get("memories_scored_per_forward", "-")), fmt(r["seconds_per_edit"], 1))
    Console(width=200).print(table)


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
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="RESULTS_JSON",
                        help="run nothing: join the rows of earlier runs' results.json (same base model and seed) "
                        "into one table, results.json and plot under --out")
    args = parser.parse_args(argv)
    if args.merge:
        runs = [json.loads(path.read_text()) for path in args.merge]
        if len({(r["base_model"], r["seed"]) for r in runs}) > 1:
            parser.error("--merge: the runs differ in base model or seed")
        data = {**runs[0], "results": [row for r in runs for row in r["results"]]}
        return _report(data, args.out)

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
    return _report(data, args.out)


def _report(data: dict[str, Any], out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=2))
    print_table(data)
    plot(data, out / "results.png")
    print(f"results: {out / 'results.json'}  plot: {out / 'results.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
