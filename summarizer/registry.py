"""A named registry: built-in components and user additions register the same way.

    >>> COLOURS = Registry("colour")
    >>> @COLOURS.register("red")
    ... def red(): return "#f00"
    >>> COLOURS.get("red")()
    '#f00'
"""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterable, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """``builtins`` names the modules whose components register on import; they are imported
    at the first lookup, not with the module that defines the registry, so a contract module
    never imports its implementations (which import it back: an import cycle)."""

    def __init__(self, kind: str, builtins: Iterable[str] = ()):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._builtins = tuple(builtins)

    def _load_builtins(self) -> None:
        modules, self._builtins = self._builtins, ()  # emptied first: the imports look names up too
        for module in modules:
            importlib.import_module(module)

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ConfigError(f"{self.kind} {name!r} is already registered.")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        self._load_builtins()
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; valid choices: {', '.join(sorted(self._items))}."
            ) from None

    def names(self) -> list[str]:
        self._load_builtins()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return name in self._items
