"""Where WISE's generalisation goes: the edit itself, or the routing.

For each edit, its rephrase is scored with the routing WISE chooses and with the
edit's own side memory forced (oracle routing), and the choice of route is
recorded: the edit's own memory, the main memory (no edit), or another edit's.
Needs one side memory per edit (WISE-Retrieve with ``save_freq = 1``, as in the
``smollm2`` profile it starts from; the paper's default keeps 500 edits per memory).

    python -m memkit.editing.wise.diagnose --t 20
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from memkit.editing.types import EditRequest
from memkit.errors import EditingError, validation_message

__all__ = ["RoutingReport", "routing_report", "main"]


class RoutingReport(BaseModel):
    n_edits: int
    gen: float  # rephrase token accuracy, WISE's own routing
    gen_oracle: float  # the same with each rephrase sent to its edit's side memory
    prompt_own: float  # share of edit prompts routed to their own memory
    rephrase_own: float  # share of rephrases routed to their edit's memory
    rephrase_main: float  # ... to the main memory (no edit applied)
    rephrase_other: float  # ... to another edit's memory
    locality_main: float | None  # share of locality prompts left to the main memory (None: the edits have none)


def _route(memory: Any, prompt: str, target: str) -> int:
    memory.score([prompt], [target])
    decision = memory.side.decision
    return int(decision[0]) if decision is not None else -1


def routing_report(memory: Any, edits: Sequence[EditRequest]) -> RoutingReport:
    """Score the rephrases of ``edits`` (already written into ``memory``) with and without oracle routing."""
    side = getattr(memory, "side", None)
    if side is None or len(side.memories) != len(edits):
        have = len(side.memories) if side is not None else 0
        raise EditingError(f"oracle routing needs one side memory per edit ({len(edits)} edits, {have} memories): "
                           "use WISE-Retrieve with save_freq = 1")
    edits = [e for e in edits if e.rephrase_prompt]
    if not edits:
        raise EditingError("the routing report needs edits with a rephrase_prompt")
    n = len(edits)
    gen = [s.token_accuracy for s in memory.score([e.rephrase_prompt for e in edits], [e.target_new for e in edits])]
    prompt_routes = [_route(memory, e.prompt, e.target_new) for e in edits]
    rephrase_routes = [_route(memory, e.rephrase_prompt, e.target_new) for e in edits]
    probes = [e for e in edits if e.locality_prompt]
    locality_routes = [_route(memory, e.locality_prompt, e.locality_ground_truth) for e in probes]
    oracle = []
    try:
        for i, e in enumerate(edits):
            side.force_route = i
            oracle.append(memory.score([e.rephrase_prompt], [e.target_new])[0].token_accuracy)
    finally:
        side.force_route = None
    return RoutingReport(
        n_edits=n, gen=sum(gen) / n, gen_oracle=sum(oracle) / n,
        prompt_own=sum(r == i for i, r in enumerate(prompt_routes)) / n,
        rephrase_own=sum(r == i for i, r in enumerate(rephrase_routes)) / n,
        rephrase_main=sum(r == -1 for r in rephrase_routes) / n,
        rephrase_other=sum(r not in (-1, i) for i, r in enumerate(rephrase_routes)) / n,
        locality_main=sum(r == -1 for r in locality_routes) / len(probes) if probes else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console

    from memkit.config import parse_assignment
    from memkit.editing import create_memory, synthetic_edits
    from memkit.hf.load import load_base_model
    from memkit.progress import progress_bar

    ap = argparse.ArgumentParser(prog="python -m memkit.editing.wise.diagnose", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--t", type=int, default=20, help="number of sequential edits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-model", default=None)
    ap.add_argument("--profile", default="smollm2",
                    help="the WISEConfig profile to start from (it must keep one side memory per edit)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a WISEConfig field of the profile (VALUE as JSON), e.g. --set mask_ratio=1.0")
    args = ap.parse_args(argv)
    from memkit.editing.wise.config import WISEConfig
    from memkit.errors import ConfigError

    try:
        config = WISEConfig.profile(args.profile)
    except ConfigError as exc:
        raise SystemExit(f"--profile: {exc}") from None
    if args.overrides:
        try:
            config = config.model_validate({**config.model_dump(), **dict(map(parse_assignment, args.overrides))})
        except ValidationError as exc:
            raise SystemExit(f"--set: {validation_message(exc, 'config')}") from None
        except ValueError as exc:  # no KEY=
            raise SystemExit(f"--set: {exc}") from None
    model, tokenizer = load_base_model(args.base_model, device="cpu")
    memory = create_memory("wise", config=config, model=copy.deepcopy(model), tokenizer=tokenizer,
                           base_model=args.base_model)
    edits = synthetic_edits(args.t, seed=args.seed)
    with progress_bar("editing", len(edits), True) as bar:
        for e in edits:
            memory.write([e])
            bar.advance(1)
    report = routing_report(memory, edits)
    console = Console()
    console.print(f"T = {report.n_edits}: Gen {report.gen:.2f} with WISE's routing, "
                  f"{report.gen_oracle:.2f} with each rephrase sent to its own edit (oracle routing)")
    console.print(f"edit prompts routed to their own memory: {report.prompt_own:.2f}; rephrases: own "
                  f"{report.rephrase_own:.2f}, main memory {report.rephrase_main:.2f}, "
                  f"another edit's {report.rephrase_other:.2f}")
    if report.locality_main is not None:
        console.print(f"locality prompts left to the main memory: {report.locality_main:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
