"""`python -m model.tools.summary`: parameters and MACs of every variant, measured from the graph.

MACs are counted by torch's FlopCounterMode over one forward pass of the deploy graph
(convolutions, linear layers and matmuls; elementwise ops and softmax are not MACs),
so the table always matches the code, never a hand-written figure.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from model.build import build_deploy_model
from model.cli import run_main
from model.registry import get_variant, list_variants


@dataclass(frozen=True)
class VariantSummary:
    """Measured size and cost of one variant's deploy graph."""

    name: str
    input_hw: tuple[int, int]
    num_vertices: int
    params: int
    macs: int
    max_params_m: float | None
    max_gmacs: float | None

    @property
    def within_budget(self) -> bool:
        """True when the variant respects its parameter and MAC budgets (if it has any)."""
        ok_p = self.max_params_m is None or self.params <= self.max_params_m * 1e6
        ok_m = self.max_gmacs is None or self.macs <= self.max_gmacs * 1e9
        return ok_p and ok_m


def count_macs(module: torch.nn.Module, example_input: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass (FLOPs / 2 as counted by FlopCounterMode)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(example_input)
    return int(counter.get_total_flops() // 2)


def summarize(name: str) -> VariantSummary:
    """Build the untrained deploy graph of `name` and measure it."""
    spec = get_variant(name)
    model = build_deploy_model(name)
    params = sum(p.numel() for p in model.parameters())
    return VariantSummary(
        name=name,
        input_hw=spec.settings.input_hw,
        num_vertices=model.num_vertices,
        params=params,
        macs=count_macs(model, model.example_input()),
        max_params_m=spec.max_params_m,
        max_gmacs=spec.max_gmacs,
    )


def format_table(rows: list[VariantSummary]) -> str:
    """Markdown table of summaries."""
    lines = [
        "| variant | input (HxW) | V | params | GMACs | budget | within |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        budget = (
            f"<= {r.max_params_m:g}M, <= {r.max_gmacs:g} GMACs"
            if r.max_params_m is not None and r.max_gmacs is not None
            else "none (reference)"
        )
        lines.append(
            f"| {r.name} | {r.input_hw[0]}x{r.input_hw[1]} | {r.num_vertices} | {r.params / 1e6:.2f}M "
            f"| {r.macs / 1e9:.3f} | {budget} | {'yes' if r.within_budget else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table; exit 1 if a variant is over budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help="variants to measure (default: all)")
    args = parser.parse_args(argv)
    names = args.variants or list_variants()
    rows = []
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows.append(summarize(name))
    print(format_table(rows))
    return 0 if all(r.within_budget for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
