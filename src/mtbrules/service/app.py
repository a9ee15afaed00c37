"""The ASGI application of `mtbrules serve` (Starlette): /v1 endpoints over compiled packs.

Every body in and out is the library's JSON: a case (CONTRACT §2) in, a
Decision (CONTRACT §3) out. Invalid input is a 4xx whose JSON body carries
the message `mtbrules eval` prints for the same input and the field it names:

    {"error": {"message": "case field 'age': expected a whole number, got 'x'", "field": "age", "code": null}}

400 the body is not JSON; 404 an unknown pack or path; 405 wrong method;
413 body, batch or answer too large; 422 a case the library rejects;
503 every decision thread busy and the queue full (with Retry-After).

Batches, explanations and comparisons are decided on the threads of
`offload.Offload`, never on the event loop; so is a single case whose
body is larger than INLINE_BODY (a small one takes well under a
millisecond, less than the hop to a thread would cost).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections import Counter
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import jsontext
from ..case import kind_of
from ..compare import compare
from ..errors import CaseError, InputError, MtbError, error_message
from ..explain import explain
from ..messages import negotiate
from ..registry import pack_for_case
from .accesslog import AccessLogMiddleware, log_info
from .answers import (
    HttpError,
    count_outcomes,
    dumps,
    encode,
    error_of,
    error_response,
    json_response,
    within,
)
from .limits import (
    BUSY,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_RESPONSE,
    DEFAULT_QUEUE,
    INLINE_BODY,
    MAX_COMPARE_PACKS,
    TOO_MANY_PACKS,
)
from .offload import RETRY_AFTER, Busy, DecisionPool, Offload, PoolBroken, cores, run_here
from .openapi import build_openapi
from .packs import PackSet, load_pack_set, warm

#: Environment variable through which `mtbrules serve` hands its settings to uvicorn workers.
CONFIG_ENV = "MTBRULES_SERVE_CONFIG"
#: Explanations go at most this deep (`mtbrules explain --depth`).
DEFAULT_DEPTH = 4
MAX_DEPTH = 20
#: When set, POST /v1/admin/reload requires `Authorization: Bearer <this>`.
TOKEN_ENV = "MTBRULES_ADMIN_TOKEN"


@attrs.frozen
class ServiceConfig:
    """What to serve and the limits; JSON-able so workers can get it from the environment."""

    packs: tuple[str, ...] = ()  # built-in ids or folders; empty = every built-in pack
    max_body: int = DEFAULT_MAX_BODY
    max_batch: int = DEFAULT_MAX_BATCH
    max_response: int = DEFAULT_MAX_RESPONSE
    processes: int = 0  # decision processes; 0 = one per core
    queue: int = DEFAULT_QUEUE  # requests that may wait for a thread
    access_log: bool = True
    admin: bool = True

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServiceConfig:
        data = json.loads(text)
        data["packs"] = tuple(data.get("packs") or ())
        return cls(**data)

    def refs(self) -> tuple[str, ...]:
        from ..registry import builtin_ids

        return self.packs or tuple(builtin_ids())

    def decision_processes(self) -> int:
        return self.processes or cores()


class Service:
    """Holds the current PackSet and answers the endpoints."""

    def __init__(self, config: ServiceConfig, packs: PackSet | None = None):
        self.config = config
        self.packs: PackSet = packs if packs is not None else load_pack_set(config.refs())
        warm(self.packs)
        self.ready = True
        self._reload_lock = asyncio.Lock()
        self._pool_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()  # background reloads, kept until done
        # The decision processes for self.packs; swapped together with it on reload.
        self.pool: DecisionPool | None = None
        self.offload = Offload(config.decision_processes(), config.queue)
        self.openapi = dumps(build_openapi(config.max_body, config.max_batch, config.max_response))

    async def start_pool(self) -> DecisionPool:
        """The decision processes of the current packs, started if they are not yet."""
        async with self._pool_lock:
            if self.pool is None:
                pool = DecisionPool(self.packs, self.offload.processes)
                await pool.start()
                self.pool = pool
            return self.pool

    async def pool_shutdown(self) -> None:
        """Stop the decision processes and wait until they are gone (the server's last step)."""
        pool, self.pool = self.pool, None
        if pool is not None:
            # In a thread: joining the processes takes a moment the event loop need not wait.
            await asyncio.get_running_loop().run_in_executor(None, pool.close, True)

    @contextlib.asynccontextmanager
    async def generation(self):
        """The packs and their decision processes, held for one request (a reload waits for it)."""
        pool = self.pool or await self.start_pool()
        pool.users += 1
        try:
            yield pool.packs, pool
        finally:
            pool.users -= 1
            if pool.retired and pool.users == 0:
                pool.close()

    # -- reading requests -------------------------------------------------

    async def read_body(self, request: Request) -> bytes:
        """The request body, within the size limit (HttpError 413 as soon as it is over)."""
        limit = self.config.max_body
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise HttpError(413, f"request body: larger than {limit} bytes")
            except ValueError:
                raise HttpError(400, "request body: Content-Length is not a number") from None
            # As declared: HTTP servers read exactly Content-Length bytes.
            raw = await request.body()
            if len(raw) > limit:
                raise HttpError(413, f"request body: larger than {limit} bytes")
            return raw
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HttpError(413, f"request body: larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def log(self, request: Request, **fields) -> None:
        request.scope.setdefault("mtbrules.log", {}).update(fields)

    async def decide(self, request: Request, pool: DecisionPool | PackSet, job, *args) -> Response:
        """`job(packs, *args, notes)` in a decision process, or here when given a PackSet itself.

        The job writes what the access line may carry into `notes`.
        """
        if isinstance(pool, PackSet):
            ok, result, notes = run_here(pool, job, args)
        else:
            try:
                ok, result, notes = await self.offload.run(pool, job, args)
            except Busy as exc:
                raise HttpError(
                    503,
                    f"server busy: {exc.capacity} requests are being decided or waiting; "
                    f"try again in {RETRY_AFTER} s",
                    code=BUSY,
                    headers={"Retry-After": str(RETRY_AFTER)},
                ) from None
            except PoolBroken as exc:
                self.restart_pool(pool, str(exc))
                raise HttpError(
                    503,
                    f"decision processes restarting; try again in {RETRY_AFTER} s",
                    code=BUSY,
                    headers={"Retry-After": str(RETRY_AFTER)},
                ) from None
        self.log(request, **notes)
        if not ok:
            raise result
        return Response(result, media_type="application/json")

    def restart_pool(self, pool: DecisionPool, why: str) -> None:
        """After a decision process died (or its packs changed on disk): reload in the background."""
        if pool is self.pool and not self._reload_lock.locked():
            log_info("decision_pool_broken", generation=pool.packs.generation, reason=why)
            task = asyncio.get_running_loop().create_task(self.on_sighup())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- endpoints ----------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return json_response({"status": "ok", "mtbrules": _version(), "pid": os.getpid()})

    async def ready_(self, request: Request) -> Response:
        packs = self.packs
        body = {
            "status": "ready" if self.ready and packs.packs else "not_ready",
            "mtbrules": _version(),
            "pid": os.getpid(),
            "generation": packs.generation,
            "loaded_at": packs.loaded_at,
            "packs": packs.describe(),
        }
        return json_response(body, 200 if body["status"] == "ready" else 503)

    async def list_packs(self, request: Request) -> Response:
        packs = self.packs
        return json_response(
            {
                "generation": packs.generation,
                "loaded_at": packs.loaded_at,
                "packs": [_pack_info(packs.packs[pid]) for pid in packs.ids()],
            }
        )

    async def get_pack(self, request: Request) -> Response:
        packs = self.packs
        pid = request.path_params["pack"]
        self.log(request, pack=_loggable_pack(pid, packs))
        return json_response(_pack_info(packs.get(pid)))

    def _url_pack(self, request: Request, packs: PackSet) -> str | None:
        """The pack in the URL, if any, checked to be served (404 before the body is read)."""
        url_pack = request.path_params.get("pack")
        if url_pack is not None:
            self.log(request, pack=_loggable_pack(url_pack, packs))
            packs.get(url_pack)
        return url_pack

    async def evaluate(self, request: Request) -> Response:
        packs = self.packs  # one set for the whole request, even if a reload swaps it meanwhile
        url_pack = self._url_pack(request, packs)
        raw = await self.read_body(request)
        args = (raw, url_pack, self.config.max_response, _lang(request))
        if len(raw) <= INLINE_BODY:
            return await self.decide(request, packs, _evaluate_job, *args)
        async with self.generation() as (packs, pool):
            return await self.decide(request, pool, _evaluate_job, *args)

    async def batch(self, request: Request) -> Response:
        async with self.generation() as (packs, pool):
            url_pack = self._url_pack(request, packs)
            raw = await self.read_body(request)
            return await self.decide(
                request,
                pool,
                _batch_job,
                raw,
                url_pack,
                self.config.max_batch,
                self.config.max_response,
                _lang(request),
            )

    async def explain(self, request: Request) -> Response:
        async with self.generation() as (packs, pool):
            url_pack = self._url_pack(request, packs)
            depth_text = request.query_params.get("depth", str(DEFAULT_DEPTH))
            if not depth_text.isdigit() or not 1 <= int(depth_text) <= MAX_DEPTH:
                raise HttpError(
                    422, f"--depth: must be a whole number from 1 to {MAX_DEPTH}", field="depth"
                )
            only = request.query_params.getlist("rule") or None
            raw = await self.read_body(request)
            return await self.decide(
                request,
                pool,
                _explain_job,
                raw,
                url_pack,
                int(depth_text),
                only,
                self.config.max_response,
                _lang(request),
            )

    async def compare(self, request: Request) -> Response:
        async with self.generation() as (packs, pool):
            ids = compare_ids(request.query_params.get("packs", "all"), packs)
            for i in ids:
                packs.get(i)  # 404 before the body is read
            raw = await self.read_body(request)
            return await self.decide(
                request,
                pool,
                _compare_job,
                tuple(ids),
                raw,
                self.config.max_response,
                _lang(request),
            )

    async def reload(self, request: Request) -> Response:
        if not self.config.admin:
            raise HttpError(404, f"no such path: {request.url.path}")
        token = os.environ.get(TOKEN_ENV)
        if token and request.headers.get("authorization") != f"Bearer {token}":
            raise HttpError(
                401, "admin: missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        new, changed = await self.reload_packs()
        return json_response(
            {
                "status": "reloaded",
                "mtbrules": _version(),
                "pid": os.getpid(),
                "generation": new.generation,
                "loaded_at": new.loaded_at,
                "packs": new.describe(),
                "changed": changed,
            }
        )

    async def reload_packs(self) -> tuple[PackSet, list[str]]:
        """Compile the packs again off the event loop and swap them in; PackError keeps the old set."""
        async with self._reload_lock:
            old = self.packs
            loop = asyncio.get_running_loop()
            try:
                new = await loop.run_in_executor(None, _load_warm, old.refs, old.generation + 1)
            except MtbError as exc:
                _, err = error_of(exc)
                log_info(
                    "reload_failed",
                    generation=old.generation,
                    code=err["code"],
                    message=err["message"],
                )
                raise
            old_pool, new_pool = self.pool, None
            if old_pool is not None:  # in use: the new packs get their processes before the swap
                new_pool = DecisionPool(new, self.offload.processes)
                try:
                    await new_pool.start()
                except MtbError as exc:
                    log_info(
                        "reload_failed", generation=old.generation, code=None, message=str(exc)
                    )
                    raise
            self.packs, self.pool = new, new_pool  # the one atomic swap (no await between)
            if old_pool is not None:
                old_pool.retire()  # stops once the requests that hold it are done
            changed = sorted(
                pid
                for pid in set(old.packs) | set(new.packs)
                if pid not in old.packs
                or pid not in new.packs
                or old.packs[pid].fingerprint != new.packs[pid].fingerprint
            )
            log_info("reload", generation=new.generation, changed=changed, packs=new.describe())
            return new, changed

    async def on_sighup(self) -> None:
        with contextlib.suppress(MtbError):  # logged as reload_failed; the old packs keep serving
            await self.reload_packs()

    async def openapi_doc(self, request: Request) -> Response:
        return Response(self.openapi, media_type="application/json")


def _load_warm(refs: tuple[str, ...], generation: int) -> PackSet:
    packs = load_pack_set(refs, generation)
    warm(packs)
    return packs


def compare_ids(text: str, packs: PackSet) -> list[str]:
    """The packs `?packs=` asks for, each once, in the order first named; 'all' is every served pack."""
    if text == "all":
        return packs.ids()
    ids = list(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    if not ids:
        raise HttpError(422, "packs: name at least one pack, or 'all'", field="packs")
    if len(ids) > MAX_COMPARE_PACKS:
        raise HttpError(
            422,
            f"packs: {len(ids)} different packs, more than {MAX_COMPARE_PACKS} in one comparison",
            field="packs",
            code=TOO_MANY_PACKS,
        )
    return ids


# -- the jobs: run on a decision thread (or inline), each returns the answer's bytes -------


def _evaluate_job(
    packs: PackSet, raw: bytes, url_pack: str | None, max_response: int, lang: str, notes: dict
) -> bytes:
    case = parse_json(raw, "request body")
    pack, case = _pick_pack(packs, case, url_pack)
    notes["pack"] = pack.id
    decision = pack.evaluate(case, lang=lang)
    notes["outcome"] = decision.outcome
    return within(decision.to_json_bytes(), max_response)  # the library's own bytes


def _batch_job(
    packs: PackSet,
    raw: bytes,
    url_pack: str | None,
    max_batch: int,
    max_response: int,
    lang: str,
    notes: dict,
) -> bytes:
    body = parse_json(raw, "request body")
    if not isinstance(body, dict):
        raise HttpError(422, f"batch: expected a JSON object with `cases`, got {kind_of(body)}")
    unknown = sorted(set(body) - {"cases", "pack"})
    if unknown:
        raise HttpError(
            422,
            f"unknown batch field '{_short(unknown[0])}' (expected: cases, pack)",
            field=unknown[0],
        )
    cases = body.get("cases")
    if not isinstance(cases, list):
        raise HttpError(
            422,
            f"batch field 'cases': expected a list of cases, got {kind_of(cases)}",
            field="cases",
        )
    if len(cases) > max_batch:
        raise HttpError(413, f"batch field 'cases': more than {max_batch} cases", field="cases")
    default = body.get("pack")
    if default is not None:
        if not isinstance(default, str):
            raise HttpError(
                422, f"batch field 'pack': expected text, got {kind_of(default)}", field="pack"
            )
        if url_pack is not None and default != url_pack:
            raise HttpError(
                422,
                f"batch field 'pack': '{_short(default)}' is not the pack in the URL '{url_pack}'",
                field="pack",
            )
        packs.get(default)
    results = _decide_all(packs, cases, url_pack, default, lang)
    default = url_pack or default
    outcomes = Counter(r["decision"]["outcome"] for r in results if "decision" in r)
    errors = sum(1 for r in results if "error" in r)
    notes.update(
        pack=default if default in packs.packs else None,
        cases=len(cases),
        errors=errors,
        outcomes=dict(outcomes),
    )
    summary = {
        "cases": len(cases),
        "decided": len(cases) - errors,
        "errors": errors,
        "outcomes": count_outcomes(outcomes.elements()),
    }
    return encode({"results": results, "summary": summary}, max_response)


def _explain_job(
    packs: PackSet,
    raw: bytes,
    url_pack: str,
    depth: int,
    only: list[str] | None,
    max_response: int,
    lang: str,
    notes: dict,
) -> bytes:
    case = parse_json(raw, "request body")
    pack, case = _pick_pack(packs, case, url_pack)
    result = explain(pack, case, depth=depth, rules=only, lang=lang)
    notes["outcome"] = result.decision.outcome
    return encode(result.to_dict(), max_response)


def _compare_job(
    packs: PackSet, ids: tuple[str, ...], raw: bytes, max_response: int, lang: str, notes: dict
) -> bytes:
    chosen = [packs.get(i).pack for i in ids]
    case = parse_json(raw, "request body")
    if not isinstance(case, dict):
        raise CaseError(f"case: a case must be a JSON object, got {kind_of(case)}")
    rows = compare(case, chosen, lang=lang)
    notes.update(cases=1, outcomes=dict(Counter(r.outcome for r in rows)))
    return encode([r.to_dict() for r in rows], max_response)


def _lang(request: Request) -> str:
    """The language of the engine's messages: the one `Accept-Language` prefers (default en)."""
    return negotiate(request.headers.get("accept-language"))


def _decide_all(
    packs: PackSet, cases: list, url_pack: str | None, default: str | None, lang: str = "en"
) -> list[dict[str, Any]]:
    """Each case's result in order. The URL's pack binds every case; the body's `pack` is a default."""
    results = []
    for i, case in enumerate(cases):
        try:
            if (
                url_pack is None
                and default is not None
                and isinstance(case, dict)
                and case.get("pack") is None
            ):
                case = {**case, "pack": default}
            pack, case = _pick_pack(packs, case, url_pack)
            decision = pack.evaluate(case, lang=lang)
            results.append({"index": i, "status": 200, "decision": decision.to_dict()})
        except HttpError as exc:
            results.append(
                {
                    "index": i,
                    "status": exc.status,
                    "error": {"message": exc.message, "field": exc.field, "code": exc.code},
                }
            )
        except MtbError as exc:
            status, err = error_of(exc)
            results.append({"index": i, "status": status, "error": err})
    return results


def _pick_pack(packs: PackSet, case: Any, url_pack: str | None):
    """The served pack for `case` and the case to evaluate: registry.pack_for_case's rule
    (the URL's pack decides, with a warning for a case naming another), served packs only."""
    choice = pack_for_case(
        case,
        url_pack,
        load=lambda ref: packs.get(ref).pack,
        required="here (or use the /v1/packs/{pack}/... form)",
    )
    return choice.pack, choice.case


def parse_json(raw: bytes, name: str) -> Any:
    """JSON from bytes, with the errors `mtbrules eval` gives for a file (line:column): HttpError 400."""
    if not raw.strip():
        raise HttpError(400, f"{name}: empty; expected a JSON object")
    try:
        return jsontext.loads(raw, name)
    except InputError as exc:
        raise HttpError(400, error_message(exc)) from None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _loggable_pack(pid: str, packs: PackSet) -> str | None:
    """A pack id is logged only if it is one the server serves (never free text from a request)."""
    return pid if pid in packs.packs else None


def _pack_info(served) -> dict[str, Any]:
    info = served.summary()
    info["case_fields"] = dict(served.pack.case_fields)
    return info


def _version() -> str:
    from .._version import __version__

    return __version__


# -- the application ----------------------------------------------------------


def create_app(config: ServiceConfig | None = None, packs: PackSet | None = None) -> Starlette:
    """The ASGI app; compiles the packs now (PackError if one does not compile)."""
    config = config or ServiceConfig()
    service = Service(config, packs)

    def route(path: str, method, verb: str) -> Route:
        async def handle(request: Request) -> Response:
            notes = request.scope.setdefault("mtbrules.log", {})
            notes["route"] = path
            try:
                return await method(request)
            except HttpError as exc:
                if exc.code:
                    notes["error"] = exc.code
                return error_response(exc.status, exc.message, exc.field, exc.code, exc.headers)
            except MtbError as exc:
                status, err = error_of(exc)
                notes["error"] = err["code"] or type(exc).__name__
                return json_response({"error": err}, status)

        return Route(path, handle, methods=[verb])

    s = service
    routes = [
        # Matched in order: the busiest first (each miss is a regular-expression match).
        route("/v1/packs/{pack}/evaluate", s.evaluate, "POST"),
        route("/v1/evaluate", s.evaluate, "POST"),
        route("/v1/health", s.health, "GET"),
        route("/v1/ready", s.ready_, "GET"),
        route("/v1/packs", s.list_packs, "GET"),
        route("/v1/packs/{pack}", s.get_pack, "GET"),
        route("/v1/batch", s.batch, "POST"),
        route("/v1/packs/{pack}/batch", s.batch, "POST"),
        route("/v1/packs/{pack}/explain", s.explain, "POST"),
        route("/v1/compare", s.compare, "POST"),
        route("/v1/admin/reload", s.reload, "POST"),
        route("/v1/openapi.json", s.openapi_doc, "GET"),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # registered for HTTPException only
        message = {
            404: f"no such path: {_short(request.url.path)}",
            405: f"method {request.method} not allowed here",
        }.get(exc.status_code, exc.detail)
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    async def any_error(request: Request, exc: Exception) -> Response:
        # A bug. Say so without a traceback or any of the request in the body.
        return error_response(500, f"internal error (this is a bug): {type(exc).__name__}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        hup = False
        if hasattr(signal, "SIGHUP"):
            try:
                loop.add_signal_handler(
                    signal.SIGHUP, lambda: loop.create_task(service.on_sighup())
                )
                hup = True
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests) or no signals here
        await service.start_pool()
        service.ready = True
        log_info(
            "start",
            pid=os.getpid(),
            generation=service.packs.generation,
            packs=service.packs.describe(),
        )
        try:
            yield
        finally:
            service.ready = False
            # Joined here: uvicorn ends by re-raising SIGTERM, which runs no exit handlers.
            await service.pool_shutdown()
            if hup:
                loop.remove_signal_handler(signal.SIGHUP)

    middleware = [Middleware(AccessLogMiddleware)] if config.access_log else []
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: any_error},
        lifespan=lifespan,
        middleware=middleware,
    )
    app.state.service = service
    return app


def app_from_env():
    """Factory for uvicorn workers: the settings `mtbrules serve` put in MTBRULES_SERVE_CONFIG."""
    text = os.environ.get(CONFIG_ENV)
    config = ServiceConfig.from_json(text) if text else ServiceConfig()
    if config.access_log:
        from . import accesslog

        accesslog.configure()
    return create_app(config)
