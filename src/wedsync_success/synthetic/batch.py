"""A growable set of generated events, as parallel integer arrays.

Each simulation step returns its events as one ``EventBatch``; batches are filtered and
concatenated with whole-array operations and only become ``EventColumns`` (strings, uuids,
datetimes) once, at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _column(value: IntArray | int, size: int) -> IntArray:
    if isinstance(value, int):
        return np.full(size, value, dtype=np.int64)
    return np.asarray(value, dtype=np.int64)


@dataclass(frozen=True)
class EventBatch:
    """Events of a group of suppliers; ``supplier`` is a row of the group's frame."""

    supplier: IntArray
    user: IntArray
    code: IntArray
    sec: IntArray
    amount: IntArray
    detail: IntArray

    @classmethod
    def make(
        cls,
        supplier: IntArray,
        code: int,
        sec: IntArray,
        *,
        user: IntArray | int = -1,
        amount: IntArray | int = 0,
        detail: IntArray | int = 0,
    ) -> EventBatch:
        """A batch of events of one type; scalar ``user``/``amount``/``detail`` apply to all."""
        size = int(supplier.size)
        return cls(
            supplier=np.asarray(supplier, dtype=np.int64),
            user=_column(user, size),
            code=np.full(size, code, dtype=np.int64),
            sec=np.asarray(sec, dtype=np.int64),
            amount=_column(amount, size),
            detail=_column(detail, size),
        )

    @classmethod
    def empty(cls) -> EventBatch:
        nothing = np.zeros(0, dtype=np.int64)
        return cls(nothing, nothing, nothing, nothing, nothing, nothing)

    @classmethod
    def concat(cls, batches: Sequence[EventBatch]) -> EventBatch:
        if not batches:
            return cls.empty()
        return cls(
            supplier=np.concatenate([b.supplier for b in batches]),
            user=np.concatenate([b.user for b in batches]),
            code=np.concatenate([b.code for b in batches]),
            sec=np.concatenate([b.sec for b in batches]),
            amount=np.concatenate([b.amount for b in batches]),
            detail=np.concatenate([b.detail for b in batches]),
        )

    def __len__(self) -> int:
        return int(self.sec.size)

    def where(self, mask: BoolArray) -> EventBatch:
        """Only the events where ``mask`` holds."""
        return EventBatch(
            supplier=self.supplier[mask],
            user=self.user[mask],
            code=self.code[mask],
            sec=self.sec[mask],
            amount=self.amount[mask],
            detail=self.detail[mask],
        )

    def within(self, lo: IntArray, hi: IntArray) -> EventBatch:
        """Only events with ``lo[s] <= sec < hi[s]`` for their supplier ``s``."""
        return self.where((self.sec >= lo[self.supplier]) & (self.sec < hi[self.supplier]))
