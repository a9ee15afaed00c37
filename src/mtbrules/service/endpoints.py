"""The endpoints of `mtbrules serve`: the served packs, their decision processes, and a handler per route.

`Service` holds the current PackSet (swapped whole on reload) and the
decision processes that serve it; each handler reads a Starlette request and
answers with the bytes of a job (jobs.py), run on the event loop for a small
case and in a decision process for anything heavier.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._version import __version__
from ..errors import MtbError
from .accesslog import log_info
from .answers import HttpError, dumps, error_of, json_response
from .config import ServiceConfig
from .jobs import batch_job, compare_job, evaluate_job, explain_job
from .limits import BUSY, INLINE_BODY, MAX_COMPARE_PACKS, TOO_MANY_PACKS
from .offload import RETRY_AFTER, Busy, DecisionPool, Offload, PoolBroken
from .openapi import build_openapi
from .packs import PackSet, load_pack_set, warm
from .reading import headers_of, language, read_body

#: Explanations go at most this deep (`mtbrules explain --depth`).
DEFAULT_DEPTH = 4
MAX_DEPTH = 20
#: When set, POST /v1/admin/reload requires `Authorization: Bearer <this>`.
TOKEN_ENV = "MTBRULES_ADMIN_TOKEN"


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

    # -- deciding ----------------------------------------------------------------

    async def decide(self, notes: dict, pool: DecisionPool, job, *args) -> bytes:
        """`job(packs, *args, notes)` in one of `pool`'s processes: the answer's bytes.

        Raises the job's input error, or HttpError 503 (BUSY) when the processes
        are all busy and the queue is full, or one of them died.
        """
        try:
            ok, result, job_notes = await self.offload.run(pool, job, args)
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
        notes.update(job_notes)
        if not ok:
            raise result
        return result

    async def evaluate_case(
        self, notes: dict, packs: PackSet, url_pack: str | None, raw: bytes, lang: str
    ) -> bytes:
        """One case's decision: here for a small body (well under a millisecond, less than the
        hop to a process and back), in a decision process for a larger one."""
        if len(raw) <= INLINE_BODY:
            return evaluate_job(packs, raw, url_pack, self.config.max_response, lang, notes)
        async with self.generation() as (_, pool):
            return await self.decide(
                notes, pool, evaluate_job, raw, url_pack, self.config.max_response, lang
            )

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
        _notes(request)["pack"] = loggable_pack(pid, packs)
        return json_response(_pack_info(packs.get(pid)))

    async def evaluate(self, request: Request) -> Response:
        # (The fast path answers these requests first; this is for an app mounted under a prefix.)
        packs = self.packs  # one set for the whole request, even if a reload swaps it meanwhile
        notes = _notes(request)
        url_pack = url_pack_of(notes, request.path_params.get("pack"), packs)
        length, lang, _ = headers_of(request.scope)
        raw = await read_body(request.receive, length, self.config.max_body)
        body = await self.evaluate_case(notes, packs, url_pack, raw, language(lang))
        return Response(body, media_type="application/json")

    async def batch(self, request: Request) -> Response:
        async with self.generation() as (packs, pool):
            notes = _notes(request)
            url_pack = url_pack_of(notes, request.path_params.get("pack"), packs)
            raw, lang = await self._body(request)
            config = self.config
            body = await self.decide(
                notes, pool, batch_job, raw, url_pack, config.max_batch, config.max_response, lang
            )
            return Response(body, media_type="application/json")

    async def explain(self, request: Request) -> Response:
        async with self.generation() as (packs, pool):
            notes = _notes(request)
            url_pack = url_pack_of(notes, request.path_params.get("pack"), packs)
            depth_text = request.query_params.get("depth", str(DEFAULT_DEPTH))
            if not depth_text.isdigit() or not 1 <= int(depth_text) <= MAX_DEPTH:
                raise HttpError(
                    422, f"--depth: must be a whole number from 1 to {MAX_DEPTH}", field="depth"
                )
            only = request.query_params.getlist("rule") or None
            raw, lang = await self._body(request)
            body = await self.decide(
                notes,
                pool,
                explain_job,
                raw,
                url_pack,
                int(depth_text),
                only,
                self.config.max_response,
                lang,
            )
            return Response(body, media_type="application/json")

    async def compare(self, request: Request) -> Response:
        async with self.generation() as (packs, pool):
            ids = compare_ids(request.query_params.get("packs", "all"), packs)
            for i in ids:
                packs.get(i)  # 404 before the body is read
            raw, lang = await self._body(request)
            body = await self.decide(
                _notes(request), pool, compare_job, tuple(ids), raw, self.config.max_response, lang
            )
            return Response(body, media_type="application/json")

    async def _body(self, request: Request) -> tuple[bytes, str]:
        """The request's body (within --max-body) and the language it asks for."""
        length, lang, _ = headers_of(request.scope)
        return await read_body(request.receive, length, self.config.max_body), language(lang)

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


def loggable_pack(pid: str, packs: PackSet) -> str | None:
    """A pack id is logged only if it is one the server serves (never free text from a request)."""
    return pid if pid in packs.packs else None


def url_pack_of(notes: dict, url_pack: str | None, packs: PackSet) -> str | None:
    """The pack in the URL, if any, checked to be served (UnknownPackError, 404, before the body
    is read) and noted for the access line."""
    if url_pack is not None:
        notes["pack"] = loggable_pack(url_pack, packs)
        packs.get(url_pack)
    return url_pack


def _notes(request: Request) -> dict[str, Any]:
    """What the access line of this request will carry (accesslog.AccessLogMiddleware reads it)."""
    return request.scope.setdefault("mtbrules.log", {})


def _pack_info(served) -> dict[str, Any]:
    info = served.summary()
    info["case_fields"] = dict(served.pack.case_fields)
    return info


def _version() -> str:

    return __version__
