"""Tasks: how a family of models gets its examples and how it is scored."""

from tfxdr.tasks.clicks import ClickTranslationTask

TASKS = {ClickTranslationTask.name: ClickTranslationTask}

__all__ = ["TASKS", "ClickTranslationTask"]
