"""The exception tree. Every error the library raises on purpose is an MtbError.

Each subclasses the matching built-in too (a CaseError is a ValueError), so
generic handlers still catch them; each carries Diagnostics with positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .diagnostics import Diagnostic, Location

__all__ = [
    "CalendarError",
    "CaseError",
    "ConflictError",
    "DslSyntaxError",
    "InputError",
    "InternalError",
    "MtbError",
    "PackError",
    "error_message",
]


class MtbError(Exception):
    """Base of every error mtbrules raises on purpose."""

    exit_code = 3

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()):
        super().__init__(message)
        self.message = message
        self.diagnostics = list(diagnostics)

    def __reduce__(self) -> tuple[type[MtbError], tuple[object, ...]]:
        # Survive pickling across the processes of batch evaluation.
        return (self.__class__, (self.message, self.diagnostics))

    def __str__(self) -> str:
        return self.message


class InputError(MtbError, ValueError):
    """The input is unusable: unreadable file, bad YAML/JSON, schema or type errors."""

    exit_code = 2


class PackError(InputError):
    """A policy pack is invalid; `diagnostics` say where."""

    @classmethod
    def from_diagnostics(cls, diagnostics: list[Diagnostic]) -> PackError:
        first = diagnostics[0]
        more = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
        return cls(str(first) + more, diagnostics)

    @classmethod
    def at(
        cls, code: str, message: str, location: Location | None, hint: str | None = None
    ) -> PackError:
        # Imported here: diagnostics needs attrs, which `import mtbrules` does not (start-up time).
        from .diagnostics import Diagnostic

        return cls.from_diagnostics([Diagnostic(code, message, location, hint=hint)])


class DslSyntaxError(PackError):
    """A condition or date expression does not parse."""


class ConflictError(PackError):
    """Two applying rules set the same output with no override between them."""


class CaseError(InputError):
    """A case is invalid; `field` names the offending field (dotted path)."""

    def __init__(
        self, message: str, diagnostics: Iterable[Diagnostic] = (), field: str | None = None
    ):
        super().__init__(message, diagnostics)
        self.field = field

    def __reduce__(self) -> tuple[type[MtbError], tuple[object, ...]]:
        return (self.__class__, (self.message, self.diagnostics, self.field))


class CalendarError(InputError):
    """A date outside the years the working-day calendar knows."""


class InternalError(MtbError):
    """A bug in mtbrules itself."""

    exit_code = 3


def error_message(exc: MtbError) -> str:
    """The words a user gets for `exc`, the same on every edge.

    `mtbrules` prints them after "mtbrules: "; the service answers them as
    `error.message`. A pack error shows its first diagnostic with the source
    line and a caret, and how many more there are.
    """
    if exc.diagnostics:
        first: str = exc.diagnostics[0].render()
        more = len(exc.diagnostics) - 1
        return first + (
            f"\n(and {more} more; run `mtbrules check` to see them all)" if more else ""
        )
    return str(exc)
