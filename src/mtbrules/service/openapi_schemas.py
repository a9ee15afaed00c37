"""The OpenAPI document's schemas: the library's case and decision, and the service's own bodies.

The case and decision bodies are `schemas/case.schema.json` and
`schemas/decision.schema.json`, the files the library ships for other tools
(their `$defs` are lifted into `components/schemas` with a prefix, and their
internal `$ref`s rewritten to match). While a file is absent, the schema
below, written from CONTRACT §2 and §3, stands in for it.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from ..decision import OUTCOMES

_DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 1000}

#: Stand-in for schemas/case.schema.json (CONTRACT §2), used only while that file is absent.
FALLBACK_CASE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "mtbrules case (CONTRACT §2)",
    "description": (
        "A case. Unknown top-level fields are an input error, except the extra fields the pack declares "
        "(listed as `case_fields` by GET /v1/packs/{pack}). `null` is the same as leaving a field out."
    ),
    "type": "object",
    "properties": {
        "pack": {"type": "string", "minLength": 1, "maxLength": 1000, "description": "pack id"},
        "service": {"type": "string", "minLength": 1, "maxLength": 1000},
        "submitted_on": _DATE,
        "scheme": {"enum": ["employee", "resident"]},
        "retired": {"type": "boolean"},
        "age": {"type": "integer"},
        "diseases": {"type": "array", "items": _TEXT, "maxItems": 200},
        "category": _TEXT,
        "first_application": {"type": "boolean"},
        "hospitalized": {"type": "boolean"},
        "hospital_level": {"type": "integer"},
        "outpatient_years": {"type": "number"},
        "district": _TEXT,
        "channel": {"enum": ["window", "app", "hospital", "phone", "online"]},
        "agent": {"type": "boolean"},
        "materials": {"type": "array", "items": {"$ref": "#/$defs/material"}, "maxItems": 200},
        "offsite": {"$ref": "#/$defs/offsite"},
        "prior": {"$ref": "#/$defs/prior"},
        "in_catalog": {"type": "boolean"},
        "admitted_on": _DATE,
        "discharged_on": _DATE,
    },
    "required": ["service", "submitted_on"],
    "additionalProperties": {
        "description": "a field the pack declares in its case_fields",
        "type": ["boolean", "integer", "number", "string", "array"],
        "items": {"type": "string"},
    },
    "$defs": {
        "material": {
            "oneOf": [
                _TEXT,
                {
                    "type": "object",
                    "properties": {"name": _TEXT, "issued_on": _DATE},
                    "required": ["name"],
                    "additionalProperties": False,
                },
            ]
        },
        "offsite": {
            "type": "object",
            "properties": {
                "settled": {"type": "boolean"},
                "hukou_moved": {"type": "boolean"},
                "owns_property": {"type": "boolean"},
                "residence_permit": {"type": "boolean"},
                "relation": {"enum": ["spouse", "child", "child_spouse", "guardian"]},
                "dispatched_months": {"type": "integer"},
                "working_offsite": {"type": "boolean"},
                "cross_province": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "prior": {
            "type": "object",
            "properties": {
                "issued_on": _DATE,
                "valid_until": _DATE,
                "changes_this_year": {"type": "integer"},
            },
            "additionalProperties": False,
        },
    },
}

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}

#: Stand-in for schemas/decision.schema.json (CONTRACT §3 and the extensions of decision.py).
FALLBACK_DECISION: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "mtbrules decision (CONTRACT §3)",
    "type": "object",
    "properties": {
        "pack": _STR,
        "pack_version": _STR_OR_NULL,
        "service": _STR,
        "as_of": _DATE,
        "outcome": {"enum": list(OUTCOMES)},
        "complete": {"type": "boolean"},
        "diseases": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": _STR,
                    "name": _STR,
                    "groups": {"type": "array", "items": _STR},
                },
                "required": ["id", "name", "groups"],
            },
        },
        "required_documents": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": _STR,
                    "name": _STR,
                    "name_en": _STR,
                    "provided": {"type": "boolean"},
                    "rule": _STR,
                    "source": _STR,
                    "alternatives": {"type": "array", "items": _STR},
                    "issued_within": _STR,
                },
                "required": ["id", "name", "name_en", "provided", "rule", "source"],
            },
        },
        "missing_documents": {"type": "array", "items": _STR},
        "channels": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": _STR, "name": _STR, "kind": _STR, "name_en": _STR},
                "required": ["id", "name"],
            },
        },
        "path": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"rule": _STR, "title": _STR, "source": _STR, "quote": _STR},
                "required": ["rule", "title", "source"],
            },
        },
        "deadlines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "kind": _STR,
                    "date": _DATE,
                    "basis": _STR,
                    "rule": _STR,
                    "source": _STR,
                },
                "required": ["kind", "date", "basis", "rule", "source"],
            },
        },
        "reasons": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"rule": _STR, "text": _STR, "source": _STR, "note": _STR},
                "required": ["rule", "text", "source"],
            },
        },
        "warnings": {"type": "array", "items": _STR},
    },
    "required": [
        "pack",
        "pack_version",
        "service",
        "as_of",
        "outcome",
        "complete",
        "diseases",
        "required_documents",
        "missing_documents",
        "channels",
        "path",
        "deadlines",
        "reasons",
        "warnings",
    ],
}


def library_schema(name: str) -> tuple[dict[str, Any], bool]:
    """The library's schema file `name` (e.g. "case.schema.json") and True, or the stand-in and False."""
    try:
        text = resources.files("mtbrules").joinpath("schemas", name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        fallback = {"case.schema.json": FALLBACK_CASE, "decision.schema.json": FALLBACK_DECISION}[
            name
        ]
        return copy.deepcopy(fallback), False
    return json.loads(text), True


def _lift(schema: dict[str, Any], name: str, components: dict[str, Any]) -> None:
    """Put `schema` into components as `name`, its $defs as `name_<def>`, refs rewritten."""
    schema = copy.deepcopy(schema)
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str):
                    if v.startswith("#/$defs/"):
                        v = f"#/components/schemas/{name}_{v[len('#/$defs/') :]}"
                    elif v == "#":
                        v = f"#/components/schemas/{name}"
                out[k] = rewrite(v)
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    components[name] = rewrite(schema)
    for key, sub in defs.items():
        components[f"{name}_{key}"] = rewrite(sub)


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def components(max_batch: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Every component schema, and where the Case and Decision schemas came from."""
    case, case_is_library = library_schema("case.schema.json")
    decision, decision_is_library = library_schema("decision.schema.json")
    components: dict[str, Any] = {}
    _lift(case, "Case", components)
    _lift(decision, "Decision", components)
    components["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {
                        "type": "string",
                        "description": "the message `mtbrules eval` prints for the same input",
                    },
                    "field": {
                        "type": ["string", "null"],
                        "description": "the offending case field (dotted path), if any",
                    },
                    "code": {
                        "type": ["string", "null"],
                        "description": "diagnostic code such as MTB100, if any",
                    },
                },
                "required": ["message", "field"],
            }
        },
        "required": ["error"],
    }
    components["BatchRequest"] = {
        "type": "object",
        "properties": {
            "pack": {"type": "string", "description": "pack id for the cases that do not name one"},
            "cases": {"type": "array", "items": {"type": "object"}, "maxItems": max_batch},
        },
        "required": ["cases"],
        "additionalProperties": False,
        "description": (
            "Cases to decide, in order. Each item is a Case; an invalid item gives an error in its slot "
            "of the result and does not stop the others."
        ),
    }
    components["BatchItem"] = {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "status": {
                "type": "integer",
                "description": "the HTTP status this case alone would have had",
            },
            "decision": ref("Decision"),
            "error": components["Error"]["properties"]["error"],
        },
        "required": ["index", "status"],
    }
    components["BatchResponse"] = {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": ref("BatchItem")},
            "summary": {
                "type": "object",
                "properties": {
                    "cases": {"type": "integer"},
                    "decided": {"type": "integer"},
                    "errors": {"type": "integer"},
                    "outcomes": {
                        "type": "object",
                        "description": "how many cases got each outcome (outcomes no case got left out)",
                        "properties": {o: {"type": "integer", "minimum": 1} for o in OUTCOMES},
                        "additionalProperties": {"type": "integer"},
                    },
                },
                "required": ["cases", "decided", "errors", "outcomes"],
            },
        },
        "required": ["results", "summary"],
    }
    components["ServedPack"] = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "versions": {"type": "array", "items": {"type": "string"}},
            "fingerprint": {
                "type": "string",
                "description": "sha256 of the pack's files, scenarios left out",
            },
            "ref": {"type": "string"},
        },
        "required": ["id", "versions", "fingerprint"],
    }
    components["PackInfo"] = {
        "type": "object",
        "description": "A pack as `mtbrules packs --format json` describes it, with its fingerprint and case fields.",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "name_en": {"type": ["string", "null"]},
            "city": {"type": "string"},
            "province": {"type": ["string", "null"]},
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "effective_from": _DATE,
                        "effective_to": {"type": ["string", "null"]},
                    },
                    "required": ["id", "effective_from", "effective_to"],
                },
            },
            "services": {"type": "array", "items": {"type": "string"}},
            "case_fields": {
                "type": "object",
                "description": "the pack's extra case fields and their types",
            },
            "fingerprint": {"type": "string"},
        },
        "required": ["id", "name", "city", "versions", "services", "fingerprint"],
    }
    components["PackList"] = {
        "type": "object",
        "properties": {
            "generation": {"type": "integer"},
            "loaded_at": {"type": "string"},
            "packs": {"type": "array", "items": ref("PackInfo")},
        },
        "required": ["generation", "loaded_at", "packs"],
    }
    components["Status"] = {
        "type": "object",
        "properties": {
            "status": {"type": "string"},
            "mtbrules": {"type": "string"},
            "pid": {"type": "integer"},
            "generation": {"type": "integer"},
            "loaded_at": {"type": "string"},
            "packs": {"type": "array", "items": ref("ServedPack")},
            "changed": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["status"],
    }
    components["Condition"] = {
        "type": "object",
        "properties": {
            "expr": {"type": "string"},
            "value": {
                "type": ["boolean", "null"],
                "description": "null: undecided (a field the case does not give)",
            },
            "seen": {"type": "object", "description": "the case values this expression read"},
            "parts": {"type": "array", "items": ref("Condition")},
            "items": {"type": "array", "items": {"type": "object"}},
            "truncated": {"type": "boolean"},
        },
        "required": ["expr", "value"],
    }
    components["RuleExplanation"] = {
        "type": "object",
        "properties": {
            "rule": {"type": "string"},
            "title": {"type": "string"},
            "source": {"type": "string"},
            "quote": {"type": "string"},
            "status": {"enum": ["applied", "not_applied", "overridden", "undecided", "not_run"]},
            "effects": {"type": "object"},
            "condition": {"oneOf": [ref("Condition"), {"type": "null"}]},
            "overridden_by": {"type": "array", "items": {"type": "string"}},
            "in_path": {"type": "boolean"},
        },
        "required": ["rule", "title", "source", "status", "effects", "condition", "in_path"],
    }
    components["Explanation"] = {
        "type": "object",
        "description": "What `mtbrules explain --format json` prints: the decision, what produced each output, every rule in scope.",
        "properties": {
            "decision": ref("Decision"),
            "outputs": {"type": "object"},
            "engine": {"type": "array", "items": {"type": "object"}},
            "rules": {"type": "array", "items": ref("RuleExplanation")},
        },
        "required": ["decision", "outputs", "engine", "rules"],
    }
    components["CompareRow"] = {
        "type": "object",
        "description": "One pack's view of the case, as `mtbrules compare --format json` prints it.",
        "properties": {
            "pack": {"type": "string"},
            "name": {"type": "string"},
            "city": {"type": "string"},
            "outcome": {"enum": [*OUTCOMES, "error"]},
            "pack_version": {"type": ["string", "null"]},
            "complete": {"type": "boolean"},
            "required_documents": {"type": "array", "items": {"type": "string"}},
            "missing_documents": {"type": "array", "items": {"type": "string"}},
            "decision_due": {"type": ["string", "null"]},
            "valid_until": {"type": ["string", "null"]},
            "deadlines": {"type": "object", "additionalProperties": {"type": "string"}},
            "channels": {"type": "array", "items": {"type": "string"}},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "decision": ref("Decision"),
            "error": {
                "type": "string",
                "description": "the input error this pack raised for the case",
            },
            "notes": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["pack", "name", "city", "outcome"],
    }

    sources = {
        "Case": "src/mtbrules/schemas/case.schema.json"
        if case_is_library
        else "CONTRACT §2 (stand-in)",
        "Decision": "src/mtbrules/schemas/decision.schema.json"
        if decision_is_library
        else "CONTRACT §3 (stand-in)",
    }
    return components, sources
