"""The DSL's types and its undefined value: the vocabulary every layer above shares.

A field the case does not give reads as UNDEFINED, which every operator
propagates (Kleene logic for `and`/`or`); see docs/dsl.md.
"""

from __future__ import annotations

import attrs


class _Undefined:
    """A value the case does not give. Falsy, and distinct from False."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):
        return (_undefined, ())


def _undefined():
    return UNDEFINED


UNDEFINED = _Undefined()


@attrs.frozen
class Type:
    """A DSL type. `vocab` names the catalogue a string's values come from."""

    name: str
    item: Type | None = None
    vocab: str | None = None

    def __str__(self) -> str:
        if self.name == "list":
            return f"list[{self.item}]"
        return self.name

    def same_kind(self, other: Type) -> bool:
        if self.name == "any" or other.name == "any":
            return True
        if {self.name, other.name} <= {"int", "number"}:
            return True
        if self.name != other.name:
            return False
        if self.name == "list":
            assert self.item is not None and other.item is not None
            return self.item.same_kind(other.item)
        return True


BOOL = Type("bool")
INT = Type("int")
NUMBER = Type("number")
STRING = Type("string")
DATE = Type("date")
DURATION = Type("duration")
DISEASE = Type("disease")
ANY = Type("any")


def list_of(item: Type) -> Type:
    return Type("list", item=item)


def enum(vocab: str) -> Type:
    return Type("string", vocab=vocab)


NUMERIC = ("int", "number")

#: Fields of a disease value in the DSL.
DISEASE_FIELDS = {
    "id": enum("disease"),
    "name": STRING,
    "no": INT,
    "groups": list_of(enum("group")),
}
