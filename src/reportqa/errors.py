"""Errors a user can act on. Each message says what happened and what to do."""


class ReportQAError(Exception):
    """Base class: the CLI turns these into one line on stderr and exit status 1."""


class SourceError(ReportQAError):
    """The source path or a file in it cannot be used."""


class IndexError_(ReportQAError):
    """The index folder is missing, broken, stale or cannot be written."""


class ModelError(ReportQAError):
    """The embedding model cannot be loaded."""


class QuestionError(ReportQAError):
    """The question cannot be answered as given (for example, it is empty)."""


class SettingsError(ReportQAError, ValueError):
    """A setting (or k) has an unknown or out-of-range value; the message names it and what it allows."""


class IndexFormatError(IndexError_):
    """The index was written by a newer reportqa; it is left alone unless rebuilt on purpose."""


class ReaderError(ModelError):
    """The reader cannot be used: an unknown name, or fitted parameters that are missing,
    malformed or fitted for other features than the code computes."""


class StoreError(ReportQAError):
    """The passage store (``--store``) cannot be used: a bad URI, pymilvus missing, a server
    that is down, or a collection built for another model or chunking."""
