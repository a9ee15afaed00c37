"""The service's OpenAPI 3.1 document: its paths, errors and limits around the schemas of openapi_schemas.

`docs/openapi.json` is this document, checked in; a test keeps the two equal.
Regenerate it with `mtbrules serve --print-openapi > docs/openapi.json`.
"""

from __future__ import annotations

import json
from typing import Any

from .._version import __version__
from .limits import (
    BUSY,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_RESPONSE,
    MAX_COMPARE_PACKS,
    RESPONSE_TOO_LARGE,
    TOO_MANY_PACKS,
)
from .openapi_schemas import FALLBACK_CASE, FALLBACK_DECISION, components, ref

# The stand-in schemas are read from here too (tests, other tools).
__all__ = ["FALLBACK_CASE", "FALLBACK_DECISION", "build_openapi", "openapi_text"]


def _json_body(schema: dict, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int, max_response: int = DEFAULT_MAX_RESPONSE) -> dict[str, Any]:
    text = {
        400: "The body is not JSON (the message gives line and column).",
        401: "The admin token is missing or wrong.",
        404: "Unknown pack (or path).",
        413: (
            "The body or the batch is larger than the server accepts, or the answer would be "
            f"larger than {max_response} bytes (code {RESPONSE_TOO_LARGE})."
        ),
        422: "The case is invalid; `field` names the field (the same message as `mtbrules eval`).",
    }
    out = {str(c): _json_body(ref("Error"), text[c]) for c in codes if c in text}
    if 503 in codes:
        out["503"] = {
            **_json_body(
                ref("Error"),
                f"Every decision thread is busy and the queue is full (code {BUSY}); "
                "try again after `Retry-After` seconds.",
            ),
            "headers": {
                "Retry-After": {
                    "description": "seconds to wait before trying again",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    return out


def build_openapi(
    max_body: int = DEFAULT_MAX_BODY,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_response: int = DEFAULT_MAX_RESPONSE,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the /v1 service, with the limits the server enforces."""

    def errors(*codes: int) -> dict[str, Any]:
        return _errors(*codes, max_response=max_response)

    schemas, sources = components(max_batch)
    pack_param = {
        "name": "pack",
        "in": "path",
        "required": True,
        "description": "a served pack id (GET /v1/packs lists them)",
        "schema": {"type": "string"},
    }
    case_body = {"required": True, **_json_body(ref("Case"), "a case (CONTRACT §2)")}
    batch_body = {"required": True, **_json_body(ref("BatchRequest"), "the cases")}
    decision = _json_body(ref("Decision"), "the decision (CONTRACT §3)")
    batch_answer = _json_body(ref("BatchResponse"), "one result per case, in order")

    def decide(
        operation: str, summary: str, body: dict, answer: dict, parameters: list | None = None
    ) -> dict[str, Any]:
        """A POST that decides: its 200 answer, and the errors every deciding endpoint can give."""
        post: dict[str, Any] = {"operationId": operation, "summary": summary}
        if parameters:
            post["parameters"] = parameters
        post["requestBody"] = body
        post["responses"] = {"200": answer, **errors(400, 404, 413, 422, 503)}
        return {"post": post}

    paths: dict[str, Any] = {
        "/v1/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness: the process answers.",
                "responses": {"200": _json_body(ref("Status"), "alive")},
            }
        },
        "/v1/ready": {
            "get": {
                "operationId": "ready",
                "summary": "Readiness: packs are compiled; which pack versions are served.",
                "responses": {
                    "200": _json_body(ref("Status"), "ready, with the packs served"),
                    "503": _json_body(ref("Status"), "not ready (starting or shutting down)"),
                },
            }
        },
        "/v1/packs": {
            "get": {
                "operationId": "listPacks",
                "summary": "The packs served, their versions, services, sources and fingerprints.",
                "responses": {"200": _json_body(ref("PackList"), "served packs")},
            }
        },
        "/v1/packs/{pack}": {
            "get": {
                "operationId": "getPack",
                "summary": "One served pack.",
                "parameters": [pack_param],
                "responses": {"200": _json_body(ref("PackInfo"), "the pack"), **errors(404)},
            }
        },
        "/v1/evaluate": decide(
            "evaluate",
            "Decide one case; the case names its pack in `pack`.",
            case_body,
            decision,
        ),
        "/v1/packs/{pack}/evaluate": decide(
            "evaluateWithPack",
            "Decide one case with the pack in the URL (a case naming another pack is decided by this one, with a warning).",
            case_body,
            decision,
            [pack_param],
        ),
        "/v1/batch": decide(
            "batch",
            f"Decide up to {max_batch} cases; each names its pack, or the body's `pack` gives a default.",
            batch_body,
            batch_answer,
        ),
        "/v1/packs/{pack}/batch": decide(
            "batchWithPack",
            f"Decide up to {max_batch} cases with the pack in the URL.",
            batch_body,
            batch_answer,
            [pack_param],
        ),
        "/v1/packs/{pack}/explain": decide(
            "explain",
            "Decide one case and say, rule by rule, why each applied or did not (`mtbrules explain`).",
            case_body,
            _json_body(ref("Explanation"), "the explanation"),
            [
                pack_param,
                {
                    "name": "depth",
                    "in": "query",
                    "required": False,
                    "description": "how deep to expand sub-conditions (default 4)",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 20},
                },
                {
                    "name": "rule",
                    "in": "query",
                    "required": False,
                    "description": "explain only these rules (repeat the parameter)",
                    "schema": {"type": "array", "items": {"type": "string"}},
                    "style": "form",
                    "explode": True,
                },
            ],
        ),
        "/v1/compare": decide(
            "compare",
            "Decide one case under several packs, side by side (`mtbrules compare`).",
            {"required": True, **_json_body(ref("Case"), "a case; its `pack`, if any, is ignored")},
            _json_body(
                {"type": "array", "items": ref("CompareRow")},
                "one row per pack, in the order asked",
            ),
            [
                {
                    "name": "packs",
                    "in": "query",
                    "required": False,
                    "description": (
                        "comma-separated served pack ids, or 'all' (default); a repeated id "
                        f"counts once; at most {MAX_COMPARE_PACKS} different ids "
                        f"(422, code {TOO_MANY_PACKS})"
                    ),
                    "schema": {"type": "string"},
                }
            ],
        ),
        "/v1/admin/reload": {
            "post": {
                "operationId": "reload",
                "summary": "Compile the packs again from their folders and swap them in without dropping requests.",
                "description": (
                    "Requires `Authorization: Bearer <token>` when the server was started with MTBRULES_ADMIN_TOKEN set. "
                    "With several workers this reaches one worker only: send SIGHUP to the main process instead."
                ),
                "responses": {
                    "200": _json_body(
                        ref("Status"), "reloaded; `changed` lists packs whose fingerprint changed"
                    ),
                    **errors(401, 422),
                },
            }
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {
                    "200": {
                        "description": "the OpenAPI document",
                        "content": {"application/json": {}},
                    }
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mtbrules",
            "version": __version__,
            "description": (
                "Outpatient chronic and special disease insurance policy packs over HTTP. Bodies are the "
                "library's case and decision JSON (CONTRACT §2, §3). Limits: request body at most "
                f"{max_body} bytes; a batch at most {max_batch} cases; an answer at most "
                f"{max_response} bytes ({RESPONSE_TOO_LARGE}); a comparison at most "
                f"{MAX_COMPARE_PACKS} different packs ({TOO_MANY_PACKS}). When every decision "
                f"thread is busy and the queue is full: 503 with Retry-After ({BUSY}). "
                f"Case schema from {sources['Case']}; "
                f"decision schema from {sources['Decision']}."
            ),
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


def openapi_text(
    max_body: int = DEFAULT_MAX_BODY,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_response: int = DEFAULT_MAX_RESPONSE,
) -> str:
    """The document as checked into docs/openapi.json."""
    doc = build_openapi(max_body, max_batch, max_response)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
