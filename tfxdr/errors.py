"""Exceptions that the command line turns into one-line messages.

Library errors speak of fields and files, never of command-line flags: an error
caused by one named input carries that input's name in ``field`` (a config
field such as ``latent_dim``, or a data setting such as ``domains``), and the
command line turns it into a hint about the flag that sets it.
"""

from __future__ import annotations


class TfxdrError(Exception):
    """Base class for errors caused by the user's input, not by a bug.

    Args:
        message: one line naming the file, column, row or field and what was expected.
        field: the input the error is about, when it is one named setting.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class DataError(TfxdrError):
    """A data source is missing, unreadable or does not have the expected shape."""


class ConfigError(TfxdrError):
    """A configuration field is unknown or has a value of the wrong kind."""


class RunDirError(TfxdrError):
    """A run directory is missing, incomplete or would be overwritten."""


class TrainingError(TfxdrError):
    """Training produced a non-finite loss or otherwise cannot continue."""


class TrainingInterrupted(TfxdrError):
    """A signal stopped training after a checkpoint was written; the run can resume.

    Args:
        message: one line saying where training stopped and how to resume.
        signal_number: the signal that stopped it (the exit status is 128 + it).
    """

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number
