"""The studio's web application: Starlette routes rendering Jinja2 templates, behind the Guard.

Pages are rendered on the server; the client side is htmx for partial
updates, CodeMirror 6 for the YAML editor, and one small script
(static/studio.js) that wires the editor to the check/format/save endpoints
and makes chart bars clickable. Every asset is served from this package.

Privacy: the studio writes no access log of its own beyond method, path and
status (no query strings, no bodies), so case values never reach a log.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..compare import compare
from ..coverage import run_pack
from ..errors import InputError, MtbError
from ..explain import explain
from ..formatter import format_text
from ..nodes import to_source
from ..registry import builtin_ids
from ..tester import load_scenarios
from . import caseform, charts, jobs
from .calendarview import months
from .i18n import LANGS, translator
from .notice import clause_groups, source_views
from .security import Guard
from .workspace import StaleFile, Workspace

HERE = Path(__file__).parent
MAX_BODY = 64 * 1024 * 1024  # largest caseload upload
log = logging.getLogger("mtbrules.studio")


class Studio:
    """The state of one running studio: its packs, its impact runs, its templates."""

    def __init__(self, refs: list[str]):
        self.workspace = Workspace(refs)
        self._tmp = tempfile.TemporaryDirectory(prefix="mtbrules-studio-caseloads-")
        self.jobs = jobs.Jobs(Path(self._tmp.name))
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["dsl"] = lambda compiled: to_source(compiled.node)
        # Values as JSON for people: Chinese stays Chinese (autoescape still escapes the HTML).
        self.env.filters["shown"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)
        self.env.filters["plain"] = lambda v: (
            v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        )

    def lang(self, request: Request) -> str:
        lang = request.cookies.get("studio_lang", "zh")
        return lang if lang in LANGS else "zh"

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang(request)
        html = self.env.get_template(name).render(
            t=translator(lang),
            lang=lang,
            csrf=request.scope.get("state", {}).get("csrf", ""),
            packs=self.workspace.packs,
            path=request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


# ---------------------------------------------------------------- pages


async def index(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    packs = studio.workspace.packs
    if len(packs) == 1:
        return RedirectResponse(f"/p/{next(iter(packs))}/notice", status_code=303)
    return studio.page(request, "index.html", pack=None)


async def set_lang(request: Request) -> Response:
    to = request.query_params.get("to", "zh")
    back = request.query_params.get("back", "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(
        "studio_lang", to if to in LANGS else "zh", samesite="strict", httponly=True
    )
    return response


async def notice(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    try:
        pack = entry.current()
    except MtbError as exc:
        return studio.page(request, "broken.html", pack=entry, error=str(exc), status=200)
    views = source_views(pack)
    located = {}
    for v in views:
        for rule_id, line in v.located.items():
            located[(v.source_id, rule_id)] = line
    return studio.page(
        request,
        "notice.html",
        pack=entry,
        p=pack,
        views=views,
        groups=clause_groups(pack),
        located=located,
    )


async def try_page(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    try:
        pack = entry.current()
    except MtbError as exc:
        return studio.page(request, "broken.html", pack=entry, error=str(exc))
    scenarios = _scenarios(pack)
    chosen = request.query_params.get("scenario")
    values: dict = {}
    if chosen is not None and chosen.isdigit() and int(chosen) < len(scenarios):
        values = caseform.form_values(scenarios[int(chosen)].case)
    elif scenarios and chosen is None:
        chosen, values = "0", caseform.form_values(scenarios[0].case)
    main, more = caseform.form_fields(pack)
    names = sorted({n for d in pack.diseases.values() for n in (d.name, *d.aliases)})
    return studio.page(
        request,
        "try.html",
        pack=entry,
        p=pack,
        scenarios=scenarios,
        chosen=chosen,
        values=values,
        main=main,
        more=more,
        disease_names=names,
    )


def _scenarios(pack) -> list:
    try:
        return load_scenarios(pack)
    except MtbError:
        return []


async def decide(request: Request) -> Response:
    """The decision for the submitted form, as a fragment (htmx)."""
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    form = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=False)
    try:
        pack = entry.current()
        case = caseform.case_from_form(pack, form)
        x = explain(pack, case)
    except MtbError as exc:
        field = getattr(exc, "field", None)
        return studio.page(request, "decision_error.html", error=str(exc), field=field)
    decision = x.decision
    marks: dict[_dt.date, list[str]] = {}
    as_of = _dt.date.fromisoformat(decision.as_of)
    marks.setdefault(as_of, []).append("as_of")
    for d in decision.deadlines:
        try:
            marks.setdefault(_dt.date.fromisoformat(d.date), []).append(d.kind)
        except ValueError:
            pass
    rows = compare(case, _compare_targets(studio, pack))
    name = ", ".join(case.get("diseases", [])[:2]) or decision.service
    return studio.page(
        request,
        "decision.html",
        pack=entry,
        p=pack,
        x=x,
        d=decision,
        calendar=months(pack.calendar, as_of, marks),
        rows=rows,
        case_json=caseform.case_json(case),
        scenario_yaml=caseform.scenario_yaml(case, decision, f"{name} ({decision.as_of})"),
    )


def _compare_targets(studio: Studio, pack) -> list:
    """This pack as it is now, the studio's other packs, then every other built-in pack."""
    out: list[Any] = [pack]
    have = {pack.id}
    for e in studio.workspace.packs.values():
        if e.baseline.id not in have:
            out.append(e.baseline)
            have.add(e.baseline.id)
    return out + [pid for pid in builtin_ids() if pid not in have]


async def suggest(request: Request) -> Response:
    """Catalogue names close to what was typed (Traditional characters and aliases accepted)."""
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    pack = entry.baseline
    typed = request.query_params.get("q", "")
    last = caseform.split_names(typed)[-1:] if typed.strip() else []
    items = []
    for text in last:
        ident = pack.disease_index.lookup(text)
        if ident is not None:
            items.append({"text": text, "match": pack.diseases[ident].name, "exact": True})
        else:
            for name in pack.disease_index.closest(text, 5):
                items.append({"text": text, "match": name, "exact": False})
    return studio.page(request, "suggest.html", items=items)


# ---------------------------------------------------------------- editing


async def edit_page(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    files = entry.files()
    name = request.query_params.get("file") or next(
        (f for f in files if f.startswith("rules/")), files[0]
    )
    text, sha = entry.read(name)
    return studio.page(
        request,
        "edit.html",
        pack=entry,
        files=files,
        file=name,
        text=text,
        sha=sha,
        caseloads=studio.jobs.caseloads,
    )


async def _json(request: Request) -> dict:
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise InputError("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise InputError("the request body must be a JSON object")
    return data


def _diagnostics(entry, draft, file: str) -> dict:
    items: list[dict] = []
    elsewhere: list[dict] = []
    for d in draft.diagnostics:
        loc = d.location
        where = entry.relative(draft, loc.file) if loc is not None and loc.file else None
        item = {
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "hint": d.hint,
            "file": where,
            "line": loc.line if loc is not None else 0,
            "col": loc.col if loc is not None else 0,
        }
        (items if where == file else elsewhere).append(item)
    return {"diagnostics": items, "elsewhere": elsewhere, "loads": draft.pack is not None}


async def check(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    data = await _json(request)
    file, text = str(data.get("file", "")), str(data.get("text", ""))
    draft = entry.draft(file, text)
    return JSONResponse(_diagnostics(entry, draft, file))


async def fmt(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    data = await _json(request)
    file, text = str(data.get("file", "")), str(data.get("text", ""))
    entry.path_of(file)
    try:
        return JSONResponse({"text": format_text(text, file)})
    except MtbError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    except Exception as exc:  # noqa: BLE001 - ruamel's parse errors: the text is not YAML yet
        return JSONResponse(
            {"error": f"{file}: not valid YAML yet: {type(exc).__name__}"}, status_code=422
        )


async def save(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    data = await _json(request)
    file, text, base = (
        str(data.get("file", "")),
        str(data.get("text", "")),
        str(data.get("sha", "")),
    )
    try:
        sha = entry.save(file, text, base)
    except StaleFile as exc:
        return JSONResponse(
            {"stale": True, "disk_text": exc.disk_text, "disk_sha": exc.disk_hash}, status_code=409
        )
    log.info("saved %s/%s", entry.key, file)
    return JSONResponse({"saved": True, "sha": sha})


async def scenarios(request: Request) -> Response:
    """The pack's scenarios run on the draft, with coverage (fragment)."""
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    data = await _json(request)
    draft = entry.draft(str(data.get("file", "")), str(data.get("text", "")))
    if draft.pack is None:
        return studio.page(request, "decision_error.html", error=_first_error(draft), field=None)
    try:
        cov = run_pack(draft.pack)
    except MtbError as exc:
        return studio.page(request, "decision_error.html", error=str(exc), field=None)
    return studio.page(request, "scenarios.html", cov=cov, summary=cov.to_dict())


def _first_error(draft) -> str:
    for d in draft.diagnostics:
        if d.severity == "error":
            return str(d)
    return "the draft does not load"


async def upload(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    name = request.query_params.get("name", "")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:  # refused before it is read
        raise InputError(f"{name}: larger than {MAX_BODY // (1024 * 1024)} MiB")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InputError(f"{name}: larger than {MAX_BODY // (1024 * 1024)} MiB")
    ident, rows = studio.jobs.add_caseload(name, body)
    return JSONResponse({"id": ident, "name": Path(name).name, "rows": rows})


async def start_impact(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    entry = studio.workspace.get(request.path_params["key"])
    data = await _json(request)
    draft = entry.draft(str(data.get("file", "")), str(data.get("text", "")))
    if draft.pack is None:
        return studio.page(request, "decision_error.html", error=_first_error(draft), field=None)
    source = str(data.get("caseload", "synthetic"))
    if source == "synthetic":
        try:
            count = max(1, min(jobs.MAX_SYNTH, int(data.get("n", 2000))))
            seed = int(data.get("seed", 1))
        except (TypeError, ValueError):
            raise InputError("cases and seed must be whole numbers") from None
        cases = jobs.synthetic(entry.baseline, count, seed)
        label = f"synth n={count} seed={seed}"
        total = count
    else:
        if source not in studio.jobs.caseloads:
            raise InputError("choose a caseload file first")
        path, name, fmt_, rows = studio.jobs.caseloads[source]
        cases = jobs.limited(jobs.read_caseload(path, fmt_, entry.baseline))
        label, total = name, min(rows, jobs.MAX_CASES)
    job = jobs.ImpactJob(entry.baseline, draft.pack, cases, total, label, keep=(draft,))
    studio.jobs.jobs[job.id] = job
    return _job_page(request, studio, job)


async def job_status(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    return _job_page(request, studio, studio.jobs.get(request.path_params["job"]))


def _job_page(request: Request, studio: Studio, job) -> Response:
    """Progress while the run goes on (the fragment polls itself); the charts once it ends."""
    entry = _job_pack(studio, job)
    charts_, summary = None, None
    if job.state != "running" and job.impact is not None:
        t = translator(studio.lang(request))
        data = job.impact.to_dict()
        for g in data["documents"]:
            doc = job.new.documents.get(g["document"]) or job.old.documents.get(g["document"])
            g["name"] = doc.name if doc is not None else g["document"]
        charts_ = charts.impact_charts(data, f"/jobs/{job.id}/rows", t)
        summary = data["summary"]
    return studio.page(request, "job.html", job=job, pack=entry, charts=charts_, summary=summary)


def _job_pack(studio: Studio, job):
    for e in studio.workspace.packs.values():
        if e.baseline is job.old:
            return e
    return None


async def cancel_job(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    job = studio.jobs.get(request.path_params["job"])
    job.cancel()
    return await job_status(request)


async def job_rows(request: Request) -> Response:
    """The changed cases behind one bar, and the rules they are blamed on."""
    studio: Studio = request.app.state.studio
    job = studio.jobs.get(request.path_params["job"])
    if job.impact is None:
        raise InputError("this impact run has no result yet")
    data = job.impact.to_dict()
    table = request.query_params.get("table", "")
    if table not in ("outcomes", "documents", "deadlines", "channels"):
        raise InputError(f"unknown chart '{table}'")
    groups = data[table]
    shift = request.query_params.get("shift")
    if shift is not None:
        kind = request.query_params.get("kind", "")
        group = next((g for g in groups if g["kind"] == kind and g["change"] == "shifted"), None)
        if group is None:
            raise InputError(f"no shifted deadline {kind}")
        wanted = int(shift)
        rows = _shift_rows(job, kind, wanted, group["examples"])
        count = group.get("shift_days", {}).get(f"{wanted:+d}", len(rows))
        title = f"{kind} {wanted:+d}"
        return studio.page(
            request,
            "rows.html",
            job=job,
            title=title,
            rows=rows,
            count=count,
            blamed=group["rules"],
        )
    else:
        try:
            group = groups[int(request.query_params.get("index", ""))]
        except (ValueError, IndexError):
            raise InputError("no such bar") from None
        rows = group["examples"]
        title = " ".join(
            str(v) for k, v in group.items() if k in ("from", "to", "document", "change", "kind")
        )
    return studio.page(
        request,
        "rows.html",
        job=job,
        title=title,
        rows=rows,
        count=group["count"],
        blamed=group["rules"],
    )


SHIFT_ROWS = 60


def _shift_rows(job, kind: str, shift: int, examples: list[int]) -> list[int]:
    """Rows whose `kind` deadline moved by `shift` days: from the kept examples, then the rest."""
    out = [r for r in examples if _shift_of(job, r, kind) == shift]
    seen = set(examples)
    for row in list(job.cases):
        if len(out) >= SHIFT_ROWS:
            break
        if row not in seen and _shift_of(job, row, kind) == shift:
            out.append(row)
    return sorted(out[:SHIFT_ROWS])


def _shift_of(job, row: int, kind: str) -> int | None:
    case = job.cases.get(row)
    if case is None:
        return None
    try:
        a, b = job.old.evaluate(case).deadline(kind), job.new.evaluate(case).deadline(kind)
    except MtbError:
        return None
    if a is None or b is None:
        return None
    return (_dt.date.fromisoformat(b.date) - _dt.date.fromisoformat(a.date)).days


async def job_case(request: Request) -> Response:
    """One changed case: its decision before and after, explained."""
    studio: Studio = request.app.state.studio
    job = studio.jobs.get(request.path_params["job"])
    row = int(request.path_params["row"])
    case = job.cases.get(row)
    if case is None:
        raise InputError(f"row {row} is not among the kept cases")
    sides: list[tuple[str, Any, str | None]] = []
    for label, pack in (("old", job.old), ("new", job.new)):
        try:
            sides.append((label, explain(pack, case), None))
        except MtbError as exc:
            sides.append((label, None, str(exc)))
    return studio.page(
        request, "case_pair.html", row=row, sides=sides, case_json=caseform.case_json(case)
    )


# ---------------------------------------------------------------- errors and app


async def input_error(request: Request, exc: Exception) -> Response:
    studio: Studio = request.app.state.studio
    status = 400
    # The editor's script asks for JSON; htmx and pages get an HTML fragment.
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": str(exc)}, status_code=status)
    return studio.page(request, "decision_error.html", error=str(exc), field=None, status=status)


class _AccessLog:
    """Method, path and status only: no query string, no body (they may hold case values)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [0]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, sending)
        log.info("%s %s %s", scope["method"], scope["path"], status[0])


def create_app(
    refs: list[str], token: str, host: str = "127.0.0.1", port_ref: list[int] | None = None
):
    """The studio as an ASGI application (behind its guard) for `refs` (pack ids or folders)."""
    studio = Studio(refs)
    routes = [
        Route("/", index),
        Route("/lang", set_lang),
        Route("/p/{key}/notice", notice),
        Route("/p/{key}/try", try_page),
        Route("/p/{key}/try", decide, methods=["POST"]),
        Route("/p/{key}/suggest", suggest),
        Route("/p/{key}/edit", edit_page),
        Route("/p/{key}/check", check, methods=["POST"]),
        Route("/p/{key}/fmt", fmt, methods=["POST"]),
        Route("/p/{key}/save", save, methods=["POST"]),
        Route("/p/{key}/scenarios", scenarios, methods=["POST"]),
        Route("/p/{key}/impact", start_impact, methods=["POST"]),
        Route("/caseloads", upload, methods=["POST"]),
        Route("/jobs/{job}", job_status),
        Route("/jobs/{job}/cancel", cancel_job, methods=["POST"]),
        Route("/jobs/{job}/rows", job_rows),
        Route("/jobs/{job}/case/{row:int}", job_case),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={InputError: input_error})
    app.state.studio = studio
    return Guard(_AccessLog(app), token, host, port_ref if port_ref is not None else [0]), studio
