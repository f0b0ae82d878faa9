"""Validating a batch item by item, so that good items survive their bad neighbours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class RejectedItem(BaseModel):
    """One item of a batch that was not accepted, and why."""

    index: int = Field(description="Position of the item in the submitted batch")
    key: str | None = Field(default=None, description="The item's own id, when it had one")
    field: str = Field(description="Dotted path of the offending field ('' for the whole item)")
    reason: str


def validate_each(
    model: type[ModelT], items: Sequence[Any], *, key_field: str
) -> tuple[list[tuple[int, ModelT]], list[RejectedItem]]:
    """Validate every item against ``model``; returns (index, item) pairs and rejections.

    The whole batch is validated in one call (pydantic's core is fast); only when something
    is wrong are the good items validated again without the bad ones.
    """
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    try:
        parsed: list[ModelT] = adapter.validate_python(list(items))
        return list(enumerate(parsed)), []
    except ValidationError as exc:
        rejected: dict[int, RejectedItem] = {}
        for err in exc.errors():
            index = int(err["loc"][0])
            if index not in rejected:
                item = items[index]
                key = item.get(key_field) if isinstance(item, dict) else None
                rejected[index] = RejectedItem(
                    index=index,
                    key=key if isinstance(key, str) else None,
                    field=".".join(str(p) for p in err["loc"][1:]),
                    reason=err["msg"],
                )
    good = [i for i in range(len(items)) if i not in rejected]
    parsed = adapter.validate_python([items[i] for i in good])
    return list(zip(good, parsed, strict=True)), [rejected[i] for i in sorted(rejected)]
