"""The optional rich progress bar of ``wait_for_action``."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from m2mportal.models import ActionStatus


class ActionProgress:
    """SIMs processed of the action's total, while it runs (nothing when disabled)."""

    def __init__(self, enabled: bool, signup_id: int, console: Any = None) -> None:
        self._bar: Any = None
        self._task: Any = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn(f"action {signup_id}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=False,
            )

    def __enter__(self) -> ActionProgress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("Pending", total=None)
        return self

    def update(self, status: ActionStatus) -> None:
        if self._bar is None:
            return
        counts = status.counts
        self._bar.update(
            self._task,
            total=counts.total,
            completed=counts.done + counts.failed + counts.cancelled,
            description=status.status,
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
