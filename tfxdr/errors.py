"""Exceptions that the command line turns into one-line messages."""


class TfxdrError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""


class DataError(TfxdrError):
    """A data source is missing, unreadable or does not have the expected shape."""


class ConfigError(TfxdrError):
    """A configuration field is unknown or has a value of the wrong kind."""


class RunDirError(TfxdrError):
    """A run directory is missing, incomplete or would be overwritten."""


class TrainingError(TfxdrError):
    """Training produced a non-finite loss or otherwise cannot continue."""
