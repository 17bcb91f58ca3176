"""The batches of a run, step by step, optionally built ahead by worker processes.

A batch is a pure function of (epoch, index in the epoch) and the seed (what makes a resumed run repeat
the same steps), so worker processes can build the next ones while the current step trains and the run
stays the same batch for batch. On a GPU the step takes milliseconds and one process building batches
(3–7 ms a sample on this 2-core host: decoding, warping, jitter) would leave it waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

BatchFn = Callable[[int, int], dict]


class _StepBatches(Dataset):
    """Item i is the batch of step first + i."""

    def __init__(self, next_batch: BatchFn, first: int, total: int, steps_per_epoch: int) -> None:
        self.next_batch, self.first, self.total, self.steps_per_epoch = next_batch, first, total, steps_per_epoch

    def __len__(self) -> int:
        return self.total - self.first

    def __getitem__(self, i: int) -> dict:
        return self.next_batch(*divmod(self.first + i, self.steps_per_epoch))


def step_batches(next_batch: BatchFn, first: int, total: int, steps_per_epoch: int, workers: int = 0,
                 pin_memory: bool = False) -> Iterator[dict]:
    """The batches of steps first .. total - 1 in order; `workers` > 0 builds them in that many processes."""
    if workers < 0:
        raise ValueError(f"workers must be >= 0, not {workers}")
    if workers == 0:
        for step in range(first, total):
            yield next_batch(*divmod(step, steps_per_epoch))
        return
    # batch_size=None: each item already is a batch. Workers inherit the dataset by fork (Linux), and torch
    # gives each one thread, so they do not compete with the training step for cores. The loader's own
    # generator seeds the workers, so starting them draws nothing from torch's global generator.
    loader = DataLoader(_StepBatches(next_batch, first, total, steps_per_epoch), batch_size=None,
                        num_workers=workers, pin_memory=pin_memory, prefetch_factor=2,
                        generator=torch.Generator().manual_seed(0))
    yield from loader
