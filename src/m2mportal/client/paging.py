"""Following paged and keyset lists, and what an action's end looks like (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from m2mportal.client.engine import Req

FINAL_STATUSES = frozenset({"Done", "Partially Done", "Failed", "Cancelled"})


def next_page(req: Req[Any], answer: Any, by_keyset: bool = False) -> Req[Any] | None:
    """The request for the page after ``answer`` (a page of ``content`` with ``page``
    info), or None after the last. By keyset (SIM lists: stays fast at millions of SIMs)
    the next page starts after the last entry's ICCID while pages come back full."""
    content = answer.content
    params = dict(req.params or {})
    if by_keyset:
        if not content or len(content) < answer.page.size:
            return None
        params.pop("page", None)
        return replace(req, params={**params, "after": content[-1].iccid})
    number = answer.page.number or 0
    total_pages = answer.page.total_pages
    if not content or total_pages is None or number + 1 >= total_pages:
        return None
    if req.body is not None:
        return replace(req, body={**req.body, "page": number + 1})
    return replace(req, params={**params, "page": number + 1})


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[at : at + size] for at in range(0, len(items), size)]
