"""Tasks: how a family of models gets its examples and how it is scored."""

from tfxdr.tasks.base import Task
from tfxdr.tasks.clicks import ClickTranslationTask
from tfxdr.tasks.ctr import CtrTask

TASKS: dict[str, type[Task]] = {ClickTranslationTask.name: ClickTranslationTask,
                                CtrTask.name: CtrTask}

__all__ = ["TASKS", "ClickTranslationTask", "CtrTask", "Task"]
