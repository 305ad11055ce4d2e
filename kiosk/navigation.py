"""Opening a screen by name: the one way screens reach other screens.

This module imports no screen. :mod:`kiosk.app` registers every screen's factory
(:func:`register`) when it is imported, and a screen asks for another by name
(:func:`make`), so screens never import each other nor the app, and the kiosk's
modules have no import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen

Factory = Callable[..., Screen[Any]]
_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Make ``name`` open the screen ``factory`` builds."""
    _FACTORIES[name] = factory


def make(name: str, *args: Any, **kwargs: Any) -> Screen[Any]:
    """A new screen of the kind registered as ``name``."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise LookupError(f"no kiosk screen is registered as {name!r}") from None
    return factory(*args, **kwargs)


def is_screen(screen: object, name: str) -> bool:
    """True when ``screen`` is of the kind registered as ``name``."""
    factory = _FACTORIES.get(name)
    return isinstance(factory, type) and isinstance(screen, factory)
