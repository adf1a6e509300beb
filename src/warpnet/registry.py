"""Name -> class tables shared by the engine, the estimators, the CLI, the model loader and the
playground, so that every place that accepts a name accepts the same names and says the same thing
when a name is unknown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from names to classes or factories of one kind (e.g. "activation")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding ``obj`` under ``name``; a name can be registered once.

        Raises:
            TypeError: ``name`` is not a non-empty str.
            ValueError: ``name`` is taken (the message names both entries).
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} name must be a non-empty str, got {name!r}")

        def add(obj: T) -> T:
            known = self._lookup(name)
            if known is not None and known is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered to {_qualname(known)}; "
                                 f"cannot register {_qualname(obj)} under the same name")
            self._entries[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """The entry for ``name``; ``UsageError`` (a ``ValueError``) listing the known names
        otherwise, so the command line answers an unknown name as a usage error."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} must be given by name (a str), got {type(name).__name__}")
        found = self._lookup(name)
        if found is None:
            raise UsageError(f"unknown {self.kind} {name!r}; expected one of: {', '.join(self.names())}")
        return found

    def __getitem__(self, name: str) -> T:
        """``registry[name]``, as a dict reads: ``KeyError`` listing the known names otherwise."""
        found = self._lookup(name) if isinstance(name, str) else None
        if found is None:
            raise KeyError(f"unknown {self.kind} {name!r}; expected one of: {', '.join(self.names())}")
        return found

    def _lookup(self, name: str) -> T | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, entry)`` pairs in registration order."""
        return [(name, self.get(name)) for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


class DerivedRegistry(Registry[T]):
    """A registry of its own entries plus, under their class names, every class of other
    registries (e.g. the layers: ``Linear`` and ``Sequential`` registered here, each activation
    class read from the activation registry at the moment of the lookup, so one registered later,
    from outside the package, is found too)."""

    def __init__(self, kind: str, *sources: Registry[Any]) -> None:
        super().__init__(kind)
        self._sources = sources

    def _derived(self) -> dict[str, Any]:
        return {cls.__name__: cls for source in self._sources for _, cls in source.items()}

    def _lookup(self, name: str) -> T | None:
        own = self._entries.get(name)
        return own if own is not None else self._derived().get(name)

    def names(self) -> list[str]:
        return list(self._entries) + [n for n in self._derived() if n not in self._entries]


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
