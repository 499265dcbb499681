"""The TorchScript shell around a traced step (kept apart: TorchScript reads this file's
annotations, which must be `typing` names, not postponed strings)."""

from typing import Any, List  # noqa: UP035

import torch
from torch import nn


class Sequence(nn.Module):
    """The TorchScript face: ``forward(xs, state=None)`` loops the traced step over time;
    ``init_state(batch)`` expands the stored rest state of one sample."""

    shapes: List[List[int]]  # noqa: UP006
    axes: List[int]  # noqa: UP006
    initial: torch.Tensor  # a buffer

    def __init__(self, step: Any, initial: list[torch.Tensor], axes: list[int]) -> None:
        super().__init__()
        self.step = step
        self.shapes = [list(t.shape) for t in initial]
        self.axes = axes
        flat = [t.reshape(-1) for t in initial]
        self.register_buffer("initial", torch.cat(flat) if flat else torch.zeros(0))

    @torch.jit.export
    def init_state(self, batch: int) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        offset = 0
        for index in range(len(self.shapes)):
            shape, axis = self.shapes[index], self.axes[index]
            n = 1
            for d in shape:
                n *= d
            piece = self.initial[offset : offset + n].reshape(shape)
            offset += n
            target = list(shape)
            target[axis] = batch
            out.append(piece.expand(target).clone())
        return out

    def forward(
        self, xs: torch.Tensor, state: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        current = self.init_state(xs.shape[1]) if state is None else state
        ys: list[torch.Tensor] = []
        for t in range(xs.shape[0]):
            y, current = self.step(xs[t], current)
            ys.append(y)
        return torch.stack(ys), current
