"""Tasks: how a family of models gets its examples and how it is scored."""

from tfxdr.tasks.base import Task
from tfxdr.tasks.clicks import ClickTranslationTask
from tfxdr.tasks.ctr import CtrTask
from tfxdr.tasks.matching import MatchingTask
from tfxdr.tasks.sequences import SequenceTask

TASKS: dict[str, type[Task]] = {ClickTranslationTask.name: ClickTranslationTask,
                                CtrTask.name: CtrTask, MatchingTask.name: MatchingTask,
                                SequenceTask.name: SequenceTask}

__all__ = ["TASKS", "ClickTranslationTask", "CtrTask", "MatchingTask", "SequenceTask", "Task"]
