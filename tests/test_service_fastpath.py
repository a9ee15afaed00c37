"""The fast path (service/fastpath.py) answers exactly what Starlette's endpoint answers.

The same requests go to the app as served (POST …/evaluate taken by the fast
path) and to the same app's Starlette stack alone (the route behind it):
status, headers, body and access line must be the same.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import threading
import warnings

import orjson
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette's notice about httpx2
    warnings.simplefilter("ignore")
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

from servicecase import QINGDAO

from mtbrules.errors import MtbError
from mtbrules.registry import builtin_ids
from mtbrules.service import accesslog
from mtbrules.service.app import ServiceConfig, create_app
from mtbrules.service.fastpath import route_of
from mtbrules.service.packs import load_pack_set

pytestmark = pytest.mark.filterwarnings("ignore::Warning:starlette")


REQUESTS = [
    ("/v1/packs/qingdao/evaluate", json.dumps(QINGDAO).encode(), {}),
    ("/v1/evaluate", json.dumps({**QINGDAO, "pack": "rizhao"}).encode(), {}),
    ("/v1/packs/qingdao/evaluate", json.dumps(QINGDAO).encode(), {"accept-language": "zh-CN"}),
    ("/v1/packs/qingdao/evaluate", json.dumps({**QINGDAO, "age": "sixty"}).encode(), {}),
    ("/v1/packs/qingdao/evaluate", json.dumps({**QINGDAO, "pack": "rizhao"}).encode(), {}),
    ("/v1/evaluate", json.dumps(QINGDAO).encode(), {}),
    ("/v1/evaluate", json.dumps({**QINGDAO, "pack": "nowhere"}).encode(), {}),
    ("/v1/packs/qingdoa/evaluate", json.dumps(QINGDAO).encode(), {}),
    ("/v1/packs/qingdao/evaluate", b'{\n  "age": ,\n}', {}),
    ("/v1/packs/qingdao/evaluate", b"", {}),
    ("/v1/packs/qingdao/evaluate", b"[1, 2]", {}),
    ("/v1/packs/qingdao/evaluate", b"\xff\xfe", {}),
    ("/v1/packs/qingdao/evaluate", json.dumps({**QINGDAO, "district": "市" * 800}).encode(), {}),
    # larger than the inline limit: decided in a decision process
    ("/v1/packs/qingdao/evaluate", (json.dumps(QINGDAO) + " " * 17000).encode(), {}),
    ("/v1/packs/qingdao/evaluate", json.dumps({**QINGDAO, "x": " " * 20000}).encode(), {}),
    ("/v1/packs/qingdao/evaluate", b"{}", {"content-length": "abc"}),
]


@pytest.fixture(scope="module")
def packset():
    return load_pack_set(builtin_ids())


def _starlette_only(app):
    """The same app without the fast path: Starlette's routing, middleware and endpoint."""

    async def asgi(scope, receive, send):
        await Starlette.__call__(app, scope, receive, send)

    return asgi


def _answers(asgi, requests):
    stream = io.StringIO()
    accesslog.configure(stream)
    out = []
    try:
        with TestClient(asgi) as c:
            for i, (path, body, headers) in enumerate(requests):
                r = c.post(
                    path,
                    content=body,
                    headers={"x-request-id": f"req-{i}", "content-type": "application/json"}
                    | headers,
                )
                out.append((r.status_code, r.content, sorted(r.headers.items())))
    finally:
        for logger in (accesslog.ACCESS, accesslog.SERVICE):
            logger.handlers[:] = []
            logger.setLevel(logging.NOTSET)
            logger.propagate = True
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [
        {k: v for k, v in line.items() if k not in ("ts", "duration_ms")}
        for line in lines
        if line["event"] == "access"
    ]
    return out, access


def test_the_fast_path_answers_what_the_starlette_endpoint_answers(packset):
    app = create_app(ServiceConfig(max_body=20_000, processes=1), packset)
    fast, fast_lines = _answers(app, REQUESTS)
    slow, slow_lines = _answers(_starlette_only(app), REQUESTS)
    statuses = [s for s, _, _ in fast]
    # the case naming another pack than the URL's: decided by the URL's, with a warning
    assert statuses[:14] == [200, 200, 200, 422, 200, 422, 404, 404, 400, 400, 422, 400, 200, 200]
    assert statuses[14:] == [413, 400]
    assert fast == slow
    assert len(fast_lines) == len(REQUESTS) and fast_lines == slow_lines
    assert fast_lines[0] == {
        "event": "access",
        "method": "POST",
        "path": "/v1/packs/{pack}/evaluate",
        "status": 200,
        "pack": "qingdao",
        "outcome": json.loads(fast[0][1])["outcome"],
        "request_id": "req-0",
    }


def test_without_the_access_log_neither_path_adds_a_request_id(packset):
    app = create_app(ServiceConfig(access_log=False), packset)
    fast, lines = _answers(app, REQUESTS[:4])
    slow, _ = _answers(_starlette_only(app), REQUESTS[:4])
    assert fast == slow and lines == []
    assert all("x-request-id" not in dict(headers) for _, _, headers in fast)


def test_the_fast_path_takes_only_what_starlettes_routes_would_match():
    def scope(path, method="POST", root_path=""):
        return {"method": method, "path": path, "root_path": root_path}

    assert route_of(scope("/v1/evaluate")) == ("/v1/evaluate", None)
    assert route_of(scope("/v1/packs/qingdao/evaluate")) == ("/v1/packs/{pack}/evaluate", "qingdao")
    assert route_of(scope("/v1/packs/张三/evaluate")) == ("/v1/packs/{pack}/evaluate", "张三")
    for path in (
        "/v1/packs//evaluate",
        "/v1/packs/evaluate",
        "/v1/packs/a/b/evaluate",
        "/v1/evaluate/",
        "/v1/packs/qingdao/evaluate/",
        "/v1/packs/qingdao/batch",
    ):
        assert route_of(scope(path)) is None, path
    assert route_of(scope("/v1/evaluate", method="GET")) is None
    assert route_of(scope("/api/v1/evaluate", root_path="/api")) is None


@pytest.mark.parametrize(
    "notes",
    [
        {"pack": "qingdao", "outcome": "review"},
        {"error": "MTB100"},
        {"pack": "qingdao", "cases": 2, "errors": 1, "outcomes": {"approve": 1}},
        {"pack": None, "outcome": None},
        {},
    ],
)
def test_the_access_line_is_the_json_of_its_fields_in_order(notes):
    line = accesslog.access_line("POST", "/v1/batch", 200, 0.0123456, notes, "abc.1")
    parsed = json.loads(line)
    expected = {
        "ts": parsed["ts"],
        "event": "access",
        "method": "POST",
        "path": "/v1/batch",
        "status": 200,
        "duration_ms": 12.346,
        **{k: v for k, v in notes.items() if v is not None},
        "request_id": "abc.1",
    }
    assert line == orjson.dumps(expected).decode("utf-8")
    assert accesslog.access_line("GET", None, 404, 0, {}, "r").startswith('{"ts":"')
    assert json.loads(accesslog.access_line("GET", None, 404, 0, {}, "r"))["path"] is None


# -- the pieces the fast path is made of ------------------------------------------------


def _receiver(*messages):
    queue = list(messages)

    async def receive():
        return queue.pop(0)

    return receive


def _own_thread(test):
    """Run `test` in a thread of its own, with no event loop: in the whole suite an earlier
    test can leave the main thread marked as running one (asyncio.run then refuses)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        failed: list[BaseException] = []

        def body():
            try:
                test(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's own thread
                failed.append(exc)

        thread = threading.Thread(target=body)
        thread.start()
        thread.join()
        if failed:
            raise failed[0]

    return run


def _read(limit, declared, *messages):
    import asyncio

    from mtbrules.service.reading import read_body

    return asyncio.run(read_body(_receiver(*messages), declared, limit))


def _part(body, more=False):
    return {"type": "http.request", "body": body, "more_body": more}


@_own_thread
def test_the_body_is_read_whole_from_one_message_or_many_within_the_limit():
    from starlette.requests import ClientDisconnect

    from mtbrules.service.answers import HttpError

    assert _read(10, b"5", _part(b"hello")) == b"hello"
    assert _read(10, None, {"type": "http.request"}) == b""
    assert _read(10, None, _part(b"he", True), _part(b"", True), _part(b"llo")) == b"hello"
    assert _read(10, None, _part(b"", True), _part(b"hello")) == b"hello"
    for declared, messages in [
        (None, [_part(b"x" * 11)]),  # one message over the limit
        (b"11", [_part(b"x" * 11)]),  # declared over the limit: refused before reading
        (None, [_part(b"x" * 6, True), _part(b"x" * 6)]),
        (b"5", [_part(b"x" * 6, True), _part(b"x" * 6)]),  # more than declared, over the limit
    ]:
        with pytest.raises(HttpError) as refused:
            _read(10, declared, *messages)
        assert refused.value.status == 413, (declared, messages)
    with pytest.raises(HttpError) as refused:
        _read(10, b"five", _part(b"hello"))
    assert refused.value.status == 400
    with pytest.raises(ClientDisconnect):
        _read(10, None, _part(b"he", True), {"type": "http.disconnect"})


@pytest.mark.parametrize(
    "case, url_pack",
    [
        (QINGDAO, "qingdao"),
        ({**QINGDAO, "pack": None}, "qingdao"),
        ({**QINGDAO, "pack": "qingdao"}, "qingdao"),
        ({**QINGDAO, "pack": "rizhao"}, "qingdao"),
        ({**QINGDAO, "pack": "rizhao"}, None),
    ],
)
def test_the_pack_a_case_goes_to_is_the_one_rule_of_registry(packset, case, url_pack):
    from mtbrules.registry import pack_for_case
    from mtbrules.service.jobs import pick_pack

    pack, chosen = pick_pack(packset, case, url_pack)
    rule = pack_for_case(case, url_pack, load=lambda ref: packset.get(ref).pack)
    assert (pack, chosen) == (rule.pack, rule.case)
    for bad in ([QINGDAO], {**QINGDAO, "pack": 3}):
        with pytest.raises(MtbError) as ours:
            pick_pack(packset, bad, url_pack)
        with pytest.raises(MtbError) as theirs:
            pack_for_case(bad, url_pack, load=lambda ref: packset.get(ref).pack)
        assert str(ours.value) == str(theirs.value)


class _Writes(io.StringIO):
    """A stream that counts the writes it gets."""

    writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)


def _reset_loggers():
    for logger in (accesslog.ACCESS, accesslog.SERVICE):
        logger.handlers[:] = []
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


@_own_thread
def test_the_access_lines_of_one_turn_of_the_event_loop_go_in_one_write_at_its_end():
    import asyncio

    stream = _Writes()
    accesslog.configure(stream, per_turn=True)
    try:

        async def turn():
            accesslog.write_access("one")
            accesslog.write_access("two")
            held = stream.getvalue()
            await asyncio.sleep(0)  # the loop turns
            return held

        assert asyncio.run(turn()) == "" and stream.getvalue() == "one\ntwo\n"
        assert stream.writes == 1

        async def event():  # a service event is not held back, and keeps its place
            accesslog.write_access("three")
            accesslog.log_info("reload", generation=2)
            return stream.getvalue().splitlines()

        lines = asyncio.run(event())
        assert lines[2] == "three" and json.loads(lines[3])["event"] == "reload"
        accesslog.write_access("four")  # no event loop: at once
        assert stream.getvalue().endswith("}\nfour\n")

        async def last():  # the server's last step: what the turn holds, now
            accesslog.write_access("five")
            accesslog.flush()
            return stream.getvalue()

        assert asyncio.run(last()).endswith("four\nfive\n")
    finally:
        _reset_loggers()


def test_lines_to_standard_error_are_written_per_turn_and_to_a_given_stream_at_once():
    try:
        accesslog.configure()
        assert accesslog.ACCESS.handlers[0].per_turn
        accesslog.configure(io.StringIO())
        assert not accesslog.ACCESS.handlers[0].per_turn
    finally:
        _reset_loggers()
