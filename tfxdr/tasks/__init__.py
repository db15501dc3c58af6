"""Tasks: how a family of models gets its examples and how it is scored."""

from tfxdr.tasks.clicks import ClickTranslationTask
from tfxdr.tasks.ctr import CtrTask

TASKS = {ClickTranslationTask.name: ClickTranslationTask, CtrTask.name: CtrTask}

__all__ = ["TASKS", "ClickTranslationTask", "CtrTask"]
