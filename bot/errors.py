"""Errors of the bot layer, rooted in the project's one error class."""

from __future__ import annotations

from knowledge.errors import (
    ConflictError,
    DatabaseError,
    ImportFileError,
    MotcuaError,
    NotFoundError,
    UsageError,
)

__all__ = [
    "ConfigError",
    "ConflictError",
    "DatabaseError",
    "ImportFileError",
    "ModelError",
    "MotcuaError",
    "NotFoundError",
    "TrainingDataError",
    "UsageError",
]


class ConfigError(UsageError):
    """A setting from the environment that cannot be used."""


class TrainingDataError(UsageError):
    """NLU training data that is not valid Rasa YAML or has too few examples."""


class ModelError(MotcuaError):
    """A saved NLU model that cannot be loaded."""
