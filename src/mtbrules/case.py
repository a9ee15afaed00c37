"""The case: validate a submitted mapping against CONTRACT §2 and normalise it.

Validation is hand-written rather than run through jsonschema because it sits
on every evaluation's hot path; `schemas/case.schema.json` says the same
thing for other tools, and a test keeps the two in agreement.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from .dsltypes import BOOL, DATE, DISEASE, INT, NUMBER, STRING, Type, enum, list_of
from .errors import CaseError

#: Services named by the contract; packs may add more.
CONTRACT_SERVICES = (
    "certificate",
    "renewal",
    "change_hospital",
    "special_drug",
    "transfer_hospitalization",
    "offsite_filing",
    "reimbursement",
)
SCHEMES = ("employee", "resident")
CHANNEL_KINDS = ("window", "app", "hospital", "phone", "online")
RELATIONS = ("spouse", "child", "child_spouse", "guardian")

#: Top-level case fields and their DSL types (CONTRACT §2).
CASE_FIELDS: dict[str, Type] = {
    "service": enum("service"),
    "submitted_on": DATE,
    "scheme": enum("scheme"),
    "retired": BOOL,
    "age": INT,
    "diseases": list_of(DISEASE),
    "category": enum("category"),
    "first_application": BOOL,
    "hospitalized": BOOL,
    "hospital_level": INT,
    "outpatient_years": NUMBER,
    "district": STRING,
    "channel": enum("channel"),
    "agent": BOOL,
    "materials": list_of(enum("document")),
    "in_catalog": BOOL,
    "admitted_on": DATE,
    "discharged_on": DATE,
}
CASE_OBJECTS: dict[str, dict[str, Type]] = {
    "offsite": {
        "settled": BOOL,
        "hukou_moved": BOOL,
        "owns_property": BOOL,
        "residence_permit": BOOL,
        "relation": enum("relation"),
        "dispatched_months": INT,
        "working_offsite": BOOL,
        "cross_province": BOOL,
    },
    "prior": {
        "issued_on": DATE,
        "valid_until": DATE,
        "changes_this_year": INT,
    },
}
#: Fields that have a value when the case omits them (docs/dsl.md).
DEFAULTS = {"agent": False}

_FIXED_VOCAB = {"scheme": SCHEMES, "channel": CHANNEL_KINDS, "relation": RELATIONS}

PACK_FIELD_TYPES = {
    "bool": BOOL,
    "int": INT,
    "number": NUMBER,
    "string": STRING,
    "date": DATE,
    "list": list_of(STRING),
}

MAX_STRING = 1000
MAX_LIST = 200
MAX_INT = 10**9
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
#: Field names that suggest personal data (docs/reliability.md, Privacy): their values are never echoed.
_PERSONAL = re.compile(
    r"name|id_?(?:no|num|number|card)|ident|passport|phone|mobile|tel|email|addr|birth|ssn|insured_no|"
    r"姓名|名字|身份证|证件|电话|手机|住址|地址|出生",
    re.IGNORECASE,
)


@attrs.frozen
class Material:
    """A document the applicant has, as written, with its issue date if given."""

    name: str
    issued_on: _dt.date | None = None


@attrs.frozen
class Case:
    """A validated case. `values` holds typed fields; `offsite.x`/`prior.x` are flattened."""

    # Privacy: repr() shows field names and counts, never values (they may be personal).
    values: dict = attrs.field(repr=lambda v: "{" + ", ".join(sorted(v)) + "}")
    diseases: tuple[str, ...] = attrs.field(default=(), repr=lambda v: f"<{len(v)} diseases>")
    materials: tuple[Material, ...] | None = attrs.field(
        default=None, repr=lambda v: "None" if v is None else f"<{len(v)} materials>"
    )
    pack: str | None = None

    @property
    def submitted_on(self) -> _dt.date:
        return self.values["submitted_on"]

    @property
    def service(self) -> str:
        return self.values["service"]


def parse_case(
    data: Any,
    extra_fields: Mapping[str, str] | None = None,
    allowed_values: Mapping[str, tuple] | None = None,
) -> Case:
    """Validate `data` (a mapping per CONTRACT §2); CaseError naming the field.

    `extra_fields` are a pack's own case fields (name → type); `allowed_values`
    limits some of them to a declared list.
    """
    if isinstance(data, Case):
        return data
    if not isinstance(data, Mapping):
        raise _err("", f"a case must be a JSON object, got {kind_of(data)}")
    extra_fields = extra_fields or {}
    values: dict[str, Any] = {}
    diseases: tuple[str, ...] = ()
    materials = None
    pack = None
    for key, raw in data.items():
        if not isinstance(key, str):
            raise _err("", f"field names must be text, got {kind_of(key)}")
        if key == "pack":
            pack = _string(key, raw)
        elif key == "diseases":
            diseases = tuple(
                v if _plain_text(v) else _string(f"diseases[{i}]", v)
                for i, v in enumerate(_list(key, raw))
            )
        elif key == "materials":
            materials = tuple(
                Material(v) if _plain_text(v) else _material(f"materials[{i}]", v)
                for i, v in enumerate(_list(key, raw))
            )
        elif key in CASE_OBJECTS:
            if raw is None:
                continue
            if not isinstance(raw, Mapping):
                raise _err(key, f"expected an object, got {kind_of(raw)}")
            fields = CASE_OBJECTS[key]
            for sub, sub_raw in raw.items():
                if not isinstance(sub, str):
                    raise _err(key, f"field names must be text, got {kind_of(sub)}")
                path = f"{key}.{sub}"
                if sub not in fields:
                    raise _unknown(path, sub, fields, prefix=f"{key}.")
                if sub_raw is None:
                    continue
                values[path] = _typed(path, fields[sub], sub_raw)
        elif key in CASE_FIELDS:
            if raw is None:
                continue
            values[key] = _typed(key, CASE_FIELDS[key], raw)
        elif key in extra_fields:
            if raw is None:
                continue
            allowed = (allowed_values or {}).get(key)
            # Privacy: a pack's own fields may carry personal data; only enum-like ones are echoed.
            echo = allowed is not None and not _PERSONAL.search(key)
            value = _typed(key, PACK_FIELD_TYPES[extra_fields[key]], raw, echo)
            if allowed is not None:
                for item in value if isinstance(value, tuple) else (value,):
                    if item not in allowed:
                        raise _err(
                            key,
                            f"unknown value {_show(item, echo)}; allowed: {', '.join(map(str, allowed))}",
                        )
            values[key] = value
        else:
            raise _unknown(
                key, key, list(CASE_FIELDS) + list(CASE_OBJECTS) + list(extra_fields) + ["pack"]
            )
    for required in ("service", "submitted_on"):
        if required not in values:
            raise _err(required, "is required")
    for key, value in DEFAULTS.items():
        values.setdefault(key, value)
    return Case(values, diseases, materials, pack)


def _err(field: str, message: str) -> CaseError:
    where = f"case field '{field}'" if field else "case"
    return CaseError(f"{where}: {message}", field=field or None)


def _unknown(path: str, name: str, known, prefix: str = "") -> CaseError:
    if len(path) > 80:
        return CaseError(f"unknown case field '{path[:60]}…' ({len(path)} characters)", field=path)
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
    return CaseError(f"unknown case field '{path}'{hint}", field=path)


def kind_of(value: Any) -> str:
    """How an error message names a value's JSON kind (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _show(value: Any, echo: bool = True) -> str:
    """A value for an error message: never repr() of arbitrary objects; the kind only unless `echo`."""
    if (
        not echo
        or type(value) not in (str, int, float)
        or (type(value) is int and abs(value) >= 10**40)
    ):
        return kind_of(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _plain_text(raw: Any) -> bool:
    """The common case of a valid text value, checked without building an error path (hot path)."""
    return (
        type(raw) is str and 0 < len(raw) <= MAX_STRING and raw.isprintable() and not raw.isspace()
    )


def _string(field: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise _err(field, f"expected text, got {kind_of(raw)}")
    if len(raw) > MAX_STRING:
        raise _err(field, f"text longer than {MAX_STRING} characters")
    if not raw.strip():
        raise _err(field, "must not be empty")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _err(
            field, f"not valid Unicode text (character {exc.start + 1} is a lone surrogate)"
        ) from None
    return raw


def _list(field: str, raw: Any) -> list:
    if not isinstance(raw, (list, tuple)):
        raise _err(field, f"expected a list, got {kind_of(raw)}")
    if len(raw) > MAX_LIST:
        raise _err(field, f"more than {MAX_LIST} items")
    return list(raw)


def _date(field: str, raw: Any, echo: bool = True) -> _dt.date:
    if isinstance(raw, _dt.date) and not isinstance(raw, _dt.datetime):
        return raw
    if not isinstance(raw, str) or not _DATE_RE.match(raw):
        raise _err(field, f"expected a date YYYY-MM-DD, got {_show(raw, echo)}")
    try:
        return _dt.date.fromisoformat(raw)
    except ValueError:
        raise _err(field, f"not a real date: {_show(raw, echo)}") from None


def _typed(field: str, type_: Type, raw: Any, echo: bool = True) -> Any:
    name = type_.name
    # Valid values of the common kinds return at once; everything else takes the checks below.
    kind = type(raw)
    if name == "bool" and kind is bool:
        return raw
    if name == "int" and kind is int and -MAX_INT <= raw <= MAX_INT:
        return raw
    if name == "string" and type_.vocab is None and _plain_text(raw):
        return raw
    if name == "bool":
        if not isinstance(raw, bool):
            raise _err(field, f"expected true or false, got {kind_of(raw)}")
        return raw
    if name == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            if isinstance(raw, float) and raw.is_integer() and abs(raw) <= MAX_INT:
                return int(raw)
            raise _err(field, f"expected a whole number, got {_show(raw, echo)}")
        if abs(raw) > MAX_INT:
            raise _err(field, f"number out of range: {_show(raw, echo)}")
        return raw
    if name == "number":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise _err(field, f"expected a number, got {_show(raw, echo)}")
        if isinstance(raw, float) and not math.isfinite(raw) or abs(raw) > MAX_INT:
            raise _err(field, f"number out of range: {_show(raw, echo)}")
        return raw
    if name == "date":
        return _date(field, raw, echo)
    if name == "string":
        value = _string(field, raw)
        allowed = _FIXED_VOCAB.get(type_.vocab or "")
        if allowed is not None and value not in allowed:
            raise _err(field, f"unknown value {_show(value, echo)}; allowed: {', '.join(allowed)}")
        return value
    if name == "list":
        return tuple(_string(f"{field}[{i}]", v) for i, v in enumerate(_list(field, raw)))
    raise AssertionError(f"no case type {type_}")  # pragma: no cover


def _material(field: str, raw: Any) -> Material:
    if isinstance(raw, str):
        return Material(_string(field, raw))
    if isinstance(raw, Mapping):
        for key in raw:
            if not isinstance(key, str):
                raise _err(field, f"field names must be text, got {kind_of(key)}")
        unknown = set(raw) - {"name", "issued_on"}
        if unknown:
            key = min(unknown)
            raise _unknown(f"{field}.{key}", key, ["name", "issued_on"])
        if "name" not in raw:
            raise _err(f"{field}.name", "is required")
        name = _string(f"{field}.name", raw["name"])
        issued = raw.get("issued_on")
        return Material(name, None if issued is None else _date(f"{field}.issued_on", issued))
    raise _err(field, f"expected a document name or {{name, issued_on}}, got {kind_of(raw)}")


# ---------------------------------------------------------------- the per-pack reader (hot path)

# How the reader checks a field's value, one small number per kind (see _vouch).
_BOOL, _INT, _NUMBER, _DATE, _TEXT, _CHOICE, _DISEASES, _MATERIALS, _OBJECT, _PACK, _LOOK = range(
    11
)
_SLOW = object()  # what _vouch returns for a value it does not vouch for: parse_case decides


def _kind(type_: Type, allowed: tuple[Any, ...] | None = None) -> tuple[int, frozenset[Any] | None]:
    """How the reader checks a value of `type_` (and the values it may take, if limited)."""
    name = type_.name
    if allowed is not None:
        if name != "string":
            return _LOOK, None  # a limited list: parse_case checks it
        # Only values parse_case takes as they are: a pack could list "" or " ".
        return _CHOICE, frozenset(v for v in allowed if _plain_text(v))
    vocab = _FIXED_VOCAB.get(type_.vocab or "") if name == "string" else None
    if vocab is not None:
        return _CHOICE, frozenset(vocab)
    kinds = {"bool": _BOOL, "int": _INT, "number": _NUMBER, "date": _DATE, "string": _TEXT}
    return kinds.get(name, _LOOK), None


def _vouch(kind: int, choices: frozenset[Any] | None, raw: Any) -> Any:
    """`raw` as parse_case would read it when it plainly is a valid value of `kind`, else _SLOW.

    Every branch accepts only what parse_case accepts, and gives the same value.
    """
    if kind == _TEXT:
        return raw if _plain_text(raw) else _SLOW
    if kind == _DATE:
        # YYYY-MM-DD and nothing else (fromisoformat alone also takes 2025-W01-1).
        if type(raw) is str and len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
            try:
                return _fromisoformat(raw)
            except ValueError:
                return _SLOW
        return raw if type(raw) is _dt.date else _SLOW
    if kind == _BOOL:
        return raw if type(raw) is bool else _SLOW
    if kind == _CHOICE:
        return raw if type(raw) is str and raw in choices else _SLOW  # type: ignore[operator]
    if kind == _INT:
        return raw if type(raw) is int and -MAX_INT <= raw <= MAX_INT else _SLOW
    if kind == _NUMBER:
        if type(raw) is int:
            return raw if -MAX_INT <= raw <= MAX_INT else _SLOW
        if type(raw) is float and math.isfinite(raw) and abs(raw) <= MAX_INT:
            return raw
    return _SLOW


_OBJECT_FIELD_KINDS = {
    obj: {sub: (f"{obj}.{sub}", *_kind(t)) for sub, t in fields.items()}
    for obj, fields in CASE_OBJECTS.items()
}


class CaseReader:
    """parse_case for one pack, faster on valid cases: every field's check decided once.

    A valid case gives exactly parse_case's Case; anything the reader does not
    vouch for (a wrong type, a value out of range, an unknown field, a missing
    one, a null) goes to parse_case itself, so every error and its wording are its own.
    """

    def __init__(
        self,
        extra_fields: Mapping[str, str] | None = None,
        allowed_values: Mapping[str, tuple[Any, ...]] | None = None,
    ):
        self.extra_fields = dict(extra_fields or {})
        self.allowed_values = dict(allowed_values or {})
        found = {k: _kind(t) for k, t in CASE_FIELDS.items()}
        for key, kind in self.extra_fields.items():
            found[key] = _kind(PACK_FIELD_TYPES[kind], self.allowed_values.get(key))
        found["diseases"] = (_DISEASES, None)
        found["materials"] = (_MATERIALS, None)
        found.update({obj: (_OBJECT, None) for obj in CASE_OBJECTS})
        found["pack"] = (_PACK, None)
        # field -> its kind; field -> the values it may take (the fields so limited).
        self._kinds: dict[str, int] = {k: kind for k, (kind, _) in found.items()}
        self._choices: dict[str, frozenset[Any] | None] = {
            k: choices for k, (_, choices) in found.items() if choices is not None
        }

    def read(self, data: Any) -> Case:
        """The validated case (CaseError naming the field, exactly as parse_case)."""
        case = self._read(data) if type(data) is dict else None
        if case is None:
            return parse_case(data, self.extra_fields, self.allowed_values)
        return case

    def _read(self, data: dict[Any, Any]) -> Case | None:
        """The Case when every field is plainly valid, else None (parse_case decides)."""
        values: dict[str, Any] = {}
        diseases: tuple[str, ...] = ()
        materials = None
        pack = None
        kinds = self._kinds
        for key, raw in data.items():
            kind = kinds.get(key)
            if kind is None:
                return None
            if raw is None and kind < _DISEASES:  # a scalar field given as null: not given
                continue
            # The commonest kinds inline (the same checks as _vouch), the others through it.
            if kind == _BOOL:
                if type(raw) is not bool:
                    return None
            elif kind == _TEXT:
                if not (
                    type(raw) is str
                    and 0 < len(raw) <= MAX_STRING
                    and raw.isprintable()
                    and not raw.isspace()
                ):
                    return None
            elif kind == _DATE and type(raw) is str:
                if not (len(raw) == 10 and raw[4] == "-" and raw[7] == "-"):
                    return None
                try:
                    raw = _fromisoformat(raw)
                except ValueError:
                    return None
            elif kind == _DISEASES:
                if type(raw) is not list or len(raw) > MAX_LIST:
                    return None
                for v in raw:
                    if not _plain_text(v):
                        return None
                diseases = tuple(raw)
                continue
            elif kind == _MATERIALS:
                if type(raw) is not list or len(raw) > MAX_LIST:
                    return None
                read = []
                for v in raw:
                    material = _material_of(v)
                    if material is None:
                        return None
                    read.append(material)
                materials = tuple(read)
                continue
            elif kind == _OBJECT:
                if raw is None:
                    continue
                if type(raw) is not dict or not _read_object(key, raw, values):
                    return None
                continue
            elif kind == _PACK:
                if not _plain_text(raw):
                    return None
                pack = raw
                continue
            else:
                raw = _vouch(kind, self._choices.get(key), raw)
                if raw is _SLOW:
                    return None
            values[key] = raw
        if "service" not in values or "submitted_on" not in values:
            return None
        for key, value in _DEFAULT_ITEMS:
            if key not in values:
                values[key] = value
        # Built without attrs' __init__ (a Python call setting each slot through
        # object.__setattr__): every value is validated already.
        case = _new_object(Case)
        _set(case, "values", values)
        _set(case, "diseases", diseases)
        _set(case, "materials", materials)
        _set(case, "pack", pack)
        return case


def _read_object(obj: str, raw: dict[Any, Any], values: dict[str, Any]) -> bool:
    """Put the fields of `offsite` or `prior` into `values` as `obj.field`; False when one
    is not plainly valid."""
    subs = _OBJECT_FIELD_KINDS[obj]
    for sub, sub_raw in raw.items():
        entry = subs.get(sub)
        if entry is None:
            return False
        if sub_raw is None:
            continue
        path, kind, choices = entry
        value = _vouch(kind, choices, sub_raw)
        if value is _SLOW:
            return False
        values[path] = value
    return True


_fromisoformat = _dt.date.fromisoformat
_DEFAULT_ITEMS = tuple(DEFAULTS.items())

# For building Case and Material without attrs' __init__ (CaseReader._read, _material_named);
# tests/test_case_reader.py checks that they set every field the classes have.
_new_object = object.__new__
_set = object.__setattr__


def _material_of(raw: Any) -> Material | None:
    """A material plainly valid as parse_case reads it (a name, or {name, issued_on}), else None."""
    if type(raw) is str:
        return _material_named(raw) if _plain_text(raw) else None
    if type(raw) is not dict:
        return None
    name: Any = raw.get("name")
    if not _plain_text(name):
        return None
    issued = raw.get("issued_on")
    if len(raw) != (1 if "issued_on" not in raw else 2):
        return None  # another key: parse_case names it
    material = _material_named(name)
    if issued is not None:
        day = _vouch(_DATE, None, issued)
        if day is _SLOW:
            return None
        _set(material, "issued_on", day)
    return material


def _material_named(name: str) -> Material:
    material = _new_object(Material)
    _set(material, "name", name)
    _set(material, "issued_on", None)
    return material
