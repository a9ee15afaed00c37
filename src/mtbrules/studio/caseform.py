"""The try-a-case form: fields from the pack's case schema, form data to a case, and back.

The form shows the fields the pack's rules read (from each compiled
condition's and deadline's `fields`), then the contract's other fields
folded away. Types come from the pack's own scope (`Pack.scope`): enums become
choices, dates date pickers, booleans a yes/no/not-given choice (not given is
not the same as no: a rule may need the field). Nothing is guessed: an empty
input is a field the case does not give.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import attrs
import yaml

from .. import analysis
from ..case import CASE_FIELDS, CASE_OBJECTS
from ..errors import CaseError

#: Fields every form shows first, whatever the rules read.
ALWAYS = ("service", "submitted_on", "diseases", "materials")


@attrs.frozen
class Field:
    key: str  # "district", "offsite.settled"
    kind: str  # bool | int | number | date | string | enum | list | diseases | materials
    choices: tuple = ()  # (value, label) for enums and materials
    suggestions: tuple = ()  # values the rules compare this field with
    pack_field: bool = False  # a field the pack itself defines
    read: bool = False  # read by some rule of the pack


def _read_fields(pack) -> set[str]:
    out: set[str] = set()
    for r in pack.rules:
        if r.when is not None:
            out |= set(r.when.fields)
        for d in r.deadlines:
            out |= set(d.date.fields)
    return out


def _compared_literals(pack) -> dict[str, list]:
    """Field key -> the text literals rules compare it with (for suggestions)."""
    found: dict[str, list] = {}
    for r in pack.rules:
        if r.when is None:
            continue
        for side, other in analysis.comparisons(r.when.node):
            key = analysis.field_key(side)
            if key is None:
                continue
            for value in analysis.literals(other):
                if isinstance(value, str):
                    bucket = found.setdefault(key, [])
                    if value not in bucket:
                        bucket.append(value)
    return found


def _field(pack, key: str, type_, read: set, literals: dict) -> Field:
    vocab = pack.scope.vocab
    pack_field = key in pack.case_fields
    if key == "diseases":
        return Field(key, "diseases", read=key in read)
    if key == "materials":
        docs = tuple((d.name, d.name) for d in pack.documents.values() if not d.any_of)
        return Field(key, "materials", choices=docs, read=True)
    if key == "service":
        return Field(key, "enum", tuple((s.id, s.name) for s in pack.services.values()), read=True)
    if key == "category":
        return Field(
            key, "enum", tuple((c.id, c.name) for c in pack.categories.values()), read=key in read
        )
    name = type_.name
    if name == "string" and type_.vocab and type_.vocab in vocab:
        values = sorted(vocab[type_.vocab])
        return Field(
            key, "enum", tuple((v, v) for v in values), pack_field=pack_field, read=key in read
        )
    if name == "list":
        return Field(
            key,
            "list",
            suggestions=tuple(literals.get(key, ())),
            pack_field=pack_field,
            read=key in read,
        )
    if name in ("bool", "int", "number", "date"):
        return Field(key, name, pack_field=pack_field, read=key in read)
    return Field(
        key,
        "string",
        suggestions=tuple(literals.get(key, ())),
        pack_field=pack_field,
        read=key in read,
    )


def form_fields(pack) -> tuple[list[Field], list[Field]]:
    """(fields the rules read, the other contract fields), each in contract order."""
    read = _read_fields(pack)
    literals = _compared_literals(pack)
    scope = pack.scope
    every: list[tuple[str, Any]] = []
    for key in CASE_FIELDS:
        if key == "category" and not pack.categories:
            continue
        every.append((key, scope.fields.get(key, CASE_FIELDS[key])))
    for key in pack.case_fields:
        every.append((key, scope.fields[key]))
    for obj, subs in CASE_OBJECTS.items():
        for sub, t in subs.items():
            every.append((f"{obj}.{sub}", scope.objects.get(obj, subs).get(sub, t)))
    main: list[Field] = []
    more: list[Field] = []
    for key, t in every:
        f = _field(pack, key, t, read, literals)
        (main if key in ALWAYS or f.read else more).append(f)
    return main, more


def split_names(text: str) -> list[str]:
    """The names typed in one box, one per line or separated by semicolons."""
    # Not 、 or commas: catalogue names contain them (高血压病合并心、脑、肾等并发症).
    for sep in ("；", ";"):
        text = text.replace(sep, "\n")
    return [t.strip() for t in text.split("\n") if t.strip()]


def case_from_form(pack, form: dict[str, list[str]]) -> dict:
    """The case a submitted form stands for; CaseError naming the field for a bad value."""
    main, more = form_fields(pack)
    case: dict[str, Any] = {}
    for f in main + more:
        values = [v for v in form.get(f.key, []) if v.strip()]
        if not values:
            continue
        raw = values[0].strip()
        if f.kind == "materials":
            value: Any = [v.strip() for v in values]
            extra = form.get("materials_other", [""])[0]
            value += [x for x in split_names(extra) if x not in value]
        elif f.kind == "diseases":
            value = [x for v in values for x in split_names(v)]
        elif f.kind == "list":
            value = split_names(raw)
        elif f.kind == "bool":
            if raw not in ("true", "false"):
                raise CaseError(f"case field '{f.key}': expected yes or no", field=f.key)
            value = raw == "true"
        elif f.kind == "int":
            try:
                value = int(raw)
            except ValueError:
                raise CaseError(
                    f"case field '{f.key}': expected a whole number", field=f.key
                ) from None
        elif f.kind == "number":
            try:
                value = float(raw)
            except ValueError:
                raise CaseError(f"case field '{f.key}': expected a number", field=f.key) from None
            if value.is_integer():
                value = int(value)
        else:
            value = raw
        obj, dot, sub = f.key.partition(".")
        if dot:
            case.setdefault(obj, {})[sub] = value
        else:
            case[f.key] = value
    if "materials_other" in form and "materials" not in case:
        others = split_names(form["materials_other"][0])
        if others:
            case["materials"] = others
    return case


def form_values(case: dict) -> dict[str, Any]:
    """A case (e.g. a scenario's) as the form's field values."""
    out: dict[str, Any] = {}
    for key, value in case.items():
        if key in CASE_OBJECTS and isinstance(value, dict):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = _field_text(v)
        elif key == "materials" and isinstance(value, list):
            out[key] = [m["name"] if isinstance(m, dict) else str(m) for m in value]
        elif key == "diseases" and isinstance(value, list) or isinstance(value, list):
            out[key] = "; ".join(str(v) for v in value)
        else:
            out[key] = _field_text(value)
    return out


def _field_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def case_json(case: dict) -> str:
    return json.dumps(case, ensure_ascii=False, indent=2, default=str)


def scenario_yaml(case: dict, decision, name: str) -> str:
    """The case and what it decides, as a scenario entry to paste into `scenarios/*.yaml`."""
    expect: dict[str, Any] = {"outcome": decision.outcome}
    if decision.required_documents:
        expect["complete"] = decision.complete
        expect["required_documents"] = [d.id for d in decision.required_documents]
        expect["missing_documents"] = list(decision.missing_documents)
    if decision.channels:
        expect["channels"] = [c.id for c in decision.channels]
    if decision.deadlines:
        expect["deadlines"] = {d.kind: d.date for d in decision.deadlines}
    if decision.path:
        expect["path_includes"] = [p.rule for p in decision.path]
    entry = {"name": name, "case": case, "expect": expect}
    text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100)
    return "\n".join("  " + line if line else line for line in text.splitlines()) + "\n"
