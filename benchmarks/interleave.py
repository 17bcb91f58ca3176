"""Timing several runtimes in interleaved rounds, so machine drift hits them alike.

Timed one after another, a runtime measured while the machine was busy looks slower than one measured
a minute later, and the difference shows up as a speed-up. Here every round times each runtime for a
few calls (the order rotates between rounds), and a speed-up is the median of per-round ratios with its
interquartile range: when that range is wide, the machine was too noisy for the figure to hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# Relative width of the interquartile range of per-round ratios above which a ratio is flagged.
NOISY_SPREAD = 0.15


@dataclass
class Contender:
    """One runtime ready to be timed: `call` runs one inference."""

    name: str
    call: Callable[[], object]
    first_ms: float = 0.0
    rounds: list[list[float]] = field(default_factory=list)  # timed ms, per round

    @property
    def samples(self) -> list[float]:
        """Every timed call of every round."""
        return [s for r in self.rounds for s in r]


def interleave(contenders: list[Contender], rounds: int, per_round: int, warmup: int,
               progress: Callable[[str], None] | None = None) -> None:
    """Warm every contender up, then time `per_round` calls of each per round, rotating the order."""
    if rounds < 1 or per_round < 1:
        raise ValueError(f"rounds and calls per round must be >= 1, got {rounds} and {per_round}")
    for c in contenders:
        t0 = time.perf_counter()
        c.call()
        c.first_ms = (time.perf_counter() - t0) * 1e3
        for _ in range(max(0, warmup - 1)):
            c.call()
        c.rounds = []
    for r in range(rounds):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for c in order:
            times = []
            for _ in range(per_round):
                t0 = time.perf_counter()
                c.call()
                times.append((time.perf_counter() - t0) * 1e3)
            c.rounds.append(times)
        if progress:
            progress(f"round {r + 1}/{rounds}: " + ", ".join(
                f"{c.name} {np.median(c.rounds[-1]):.2f} ms" for c in contenders))


@dataclass(frozen=True)
class Ratio:
    """How many times faster `name` ran than `baseline`: median and interquartile range over rounds."""

    name: str
    baseline: str
    median: float
    p25: float
    p75: float
    per_round: list[float]

    @property
    def noisy(self) -> bool:
        """True when the rounds disagree by more than NOISY_SPREAD of the median."""
        return (self.p75 - self.p25) > NOISY_SPREAD * self.median

    def as_dict(self) -> dict:
        """The result JSON's form."""
        return {"baseline": self.baseline, "median": self.median, "iqr": [self.p25, self.p75],
                "per_round": self.per_round, "rounds": len(self.per_round), "noisy": self.noisy}

    def __str__(self) -> str:
        flag = "  (NOISY: the rounds disagree; rerun on a quiet machine)" if self.noisy else ""
        return (f"{self.name} vs {self.baseline}: {self.median:.2f}x "
                f"(IQR {self.p25:.2f}-{self.p75:.2f} over {len(self.per_round)} rounds){flag}")


def speedup(contender: Contender, baseline: Contender) -> Ratio:
    """Per-round ratio of the baseline's median to the contender's median, summarised."""
    if len(contender.rounds) != len(baseline.rounds) or not contender.rounds:
        raise ValueError(f"{contender.name} and {baseline.name} were not timed in the same rounds")
    ratios = [float(np.median(b) / np.median(c)) for b, c in zip(baseline.rounds, contender.rounds)]
    p25, med, p75 = (float(v) for v in np.percentile(ratios, [25, 50, 75]))
    return Ratio(contender.name, baseline.name, med, p25, p75, ratios)
