"""The project's error hierarchy. Every error carries a message a citizen or staff member can read."""

from __future__ import annotations


class MotcuaError(Exception):
    """Root of every error the project raises on purpose; `str()` is a Vietnamese message."""

    exit_code = 1


class UsageError(MotcuaError):
    """Bad input from the person running a command (missing file, malformed data)."""

    exit_code = 2


class RecordError(UsageError):
    """A national record that cannot be imported."""


class ImportFileError(UsageError):
    """An import file that cannot be read; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"dòng {line}: {message}" if line else message)
        self.line = line


class NotFoundError(MotcuaError):
    """A procedure, unit or record that does not exist."""

    exit_code = 2


class ConflictError(MotcuaError):
    """Someone else saved the record first (optimistic version check)."""


class DatabaseError(MotcuaError):
    """The database cannot be reached or is not initialised."""


class StorageUnavailable(DatabaseError):
    """The database cannot be used right now (server down, file gone or read-only): what was
    being written can be written again when it is back."""


class RetryQueueFull(StorageUnavailable):
    """...and the messages kept in memory for that fill the queue: this one is not accepted."""
