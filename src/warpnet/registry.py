"""Name -> class tables shared by the engine, the estimators, the CLI, the model loader and the
playground, so that every place that accepts a name accepts the same names and says the same thing
when a name is unknown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from names to classes or factories of one kind (e.g. "activation")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding ``obj`` under ``name``; a name can be registered once."""

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """The entry for ``name``; ``UsageError`` (a ``ValueError``) listing the known names
        otherwise, so the command line answers an unknown name as a usage error."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} must be given by name (a str), got {type(name).__name__}")
        try:
            return self._entries[name]
        except KeyError:
            raise UsageError(
                f"unknown {self.kind} {name!r}; expected one of: {', '.join(self._entries)}"
            ) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
