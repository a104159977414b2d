"""Row locking helpers. Everything that changes rows locks them through these, in primary-key
order, so two transactions touching the same rows always queue in the same order (no deadlock)."""

from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def lock_one(queryset: "models.QuerySet[M]", pk) -> M:
    """``SELECT ... FOR UPDATE`` one row (joined rows stay unlocked). Raises ``DoesNotExist``."""
    return queryset.select_for_update(of=("self",)).get(pk=pk)


def lock_many(queryset: "models.QuerySet[M]") -> list[M]:
    """Lock every row of ``queryset`` in primary-key order and return them."""
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))
