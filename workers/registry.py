"""What each task queue runs.

Workflows and I/O-bound (async) activities share the `chaine` queue; CPU-heavy (sync)
activities such as XML validation and signature checks run on `chaine-cpu` so they scale
on their own machines. A new workflow or activity is registered here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WORKFLOWS: tuple[type, ...] = ()
"""Workflow classes, run on `settings.task_queue`."""

IO_ACTIVITIES: tuple[Callable[..., Any], ...] = ()
"""Async activities (store, callbacks, payments), run on `settings.task_queue`."""

CPU_ACTIVITIES: tuple[Callable[..., Any], ...] = ()
"""Sync activities, run on a thread pool on `settings.cpu_task_queue`."""
