"""The studio's contracts without a browser: the guard, safe saves, quotes found in the notice,
the case form's round trip, both languages, and the notebook HTML."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("jinja2")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:starlette")
from starlette.testclient import TestClient

import mtbrules
from mtbrules.studio.app import create_app
from mtbrules.studio.caseform import case_from_form, form_values
from mtbrules.studio.i18n import WORDS
from mtbrules.studio.notice import source_views
from mtbrules.tester import load_scenarios

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t0ken-for-tests"
RULES = "rules/s2_3_time_limits.yaml"


@pytest.fixture()
def folder(tmp_path) -> Path:
    target = tmp_path / "qingdao"
    shutil.copytree(ROOT / "policies" / "qingdao", target)
    return target


def client_for(refs, port=8765) -> tuple[TestClient, object]:
    app, studio = create_app([str(r) for r in refs], TOKEN, port_ref=[port])
    return TestClient(app, base_url=f"http://127.0.0.1:{port}", follow_redirects=False), studio


def csrf_of(client) -> str:
    html = client.get("/p/qingdao/edit", headers={"Authorization": f"token {TOKEN}"}).text
    return re.search(r'name="studio-csrf" content="([^"]+)"', html).group(1)


# ---------------------------------------------------------------- the guard


def test_the_token_sets_a_cookie_and_leaves_the_url(folder):
    client, _ = client_for([folder])
    assert client.get("/p/qingdao/notice").status_code == 403
    assert client.get("/p/qingdao/notice?token=nope").status_code == 403
    r = client.get("/p/qingdao/notice?token=" + TOKEN)
    assert r.status_code == 303 and r.headers["location"] == "/p/qingdao/notice"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    client.cookies.clear()
    client.cookies.set("mtbrules_studio_8765", TOKEN)
    assert client.get("/p/qingdao/notice").status_code == 200
    client.cookies.clear()
    client.cookies.set("mtbrules_studio_8765", "forged")
    assert client.get("/p/qingdao/notice").status_code == 403


def test_host_csrf_and_origin(folder):
    client, _ = client_for([folder])
    auth = {"Authorization": f"token {TOKEN}"}
    assert client.get("/", headers={**auth, "Host": "attacker.example:8765"}).status_code == 403
    assert client.get("/", headers={**auth, "Host": "localhost:8765"}).status_code == 303
    assert client.get("/", headers={**auth, "Host": "127.0.0.1:9999"}).status_code == 403
    csrf = csrf_of(client)
    body = json.dumps({"file": RULES, "text": "x"})
    assert client.post("/p/qingdao/check", content=body, headers=auth).status_code == 403
    wrong = {**auth, "X-Studio-CSRF": "0" * 32}
    assert client.post("/p/qingdao/check", content=body, headers=wrong).status_code == 403
    good = {**auth, "X-Studio-CSRF": csrf}
    foreign = {**good, "Origin": "http://attacker.example"}
    assert client.post("/p/qingdao/check", content=body, headers=foreign).status_code == 403
    assert client.post("/p/qingdao/check", content=body, headers=good).status_code == 200


# ---------------------------------------------------------------- saving


def _post(client, path, payload, csrf):
    return client.post(
        path,
        content=json.dumps(payload),
        headers={
            "Authorization": f"token {TOKEN}",
            "X-Studio-CSRF": csrf,
            "Accept": "application/json",
        },
    )


def test_save_writes_only_an_unchanged_file_of_the_pack(folder, tmp_path):
    client, studio = client_for([folder])
    csrf = csrf_of(client)
    entry = studio.workspace.get("qingdao")
    text, sha = entry.read(RULES)
    new = text.replace("+ 7 working_days", "+ 5 working_days")
    r = _post(client, "/p/qingdao/save", {"file": RULES, "text": new, "sha": sha}, csrf)
    assert r.status_code == 200 and r.json()["saved"]
    assert (folder / RULES).read_text(encoding="utf-8") == new
    # A second save with the old hash: the file changed since, nothing written.
    r = _post(client, "/p/qingdao/save", {"file": RULES, "text": "lost?", "sha": sha}, csrf)
    assert r.status_code == 409 and r.json()["disk_text"] == new
    assert (folder / RULES).read_text(encoding="utf-8") == new
    # Never outside the pack folder, never a file the pack does not have.
    outside = tmp_path / "outside.yaml"
    outside.write_text("keep\n", encoding="utf-8")
    for name in ("../outside.yaml", str(outside), "rules/new.yaml", "source.txt"):
        r = _post(client, "/p/qingdao/save", {"file": name, "text": "x", "sha": sha}, csrf)
        assert r.status_code == 400, name
        assert "is not a YAML file of pack" in r.json()["error"]
    assert outside.read_text(encoding="utf-8") == "keep\n"
    # A rules file that is a link to a file outside: refused too.
    link = folder / "rules" / "zz_link.yaml"
    os.symlink(outside, link)
    r = _post(
        client, "/p/qingdao/save", {"file": "rules/zz_link.yaml", "text": "x", "sha": "0"}, csrf
    )
    assert r.status_code == 400 and "outside the pack folder" in r.json()["error"]
    assert outside.read_text(encoding="utf-8") == "keep\n"


def test_a_built_in_pack_is_read_only():
    client, studio = client_for(["qingdao"])
    csrf = csrf_of(client)
    text, sha = studio.workspace.get("qingdao").read(RULES)
    before = (ROOT / "policies" / "qingdao" / RULES).read_text(encoding="utf-8")
    r = _post(client, "/p/qingdao/save", {"file": RULES, "text": text + "#\n", "sha": sha}, csrf)
    assert r.status_code == 400 and "read-only" in r.json()["error"]
    assert (ROOT / "policies" / "qingdao" / RULES).read_text(encoding="utf-8") == before


def test_diagnostics_name_the_line_and_column(folder):
    client, studio = client_for([folder])
    csrf = csrf_of(client)
    text, _ = studio.workspace.get("qingdao").read(RULES)
    bad = text.replace("submitted_on + 7 working_days", "submitted_on + 7 wrking_days")
    r = _post(client, "/p/qingdao/check", {"file": RULES, "text": bad}, csrf)
    found = r.json()["diagnostics"]
    assert found and found[0]["code"].startswith("MTB2")
    line = bad.splitlines()[found[0]["line"] - 1]
    assert "wrking_days" in line[found[0]["col"] - 1 :]
    assert r.json()["loads"] is False
    assert (folder / RULES).read_text(encoding="utf-8") == text  # a check never writes
    ok = _post(client, "/p/qingdao/check", {"file": RULES, "text": text}, csrf).json()
    assert ok["diagnostics"] == [] and ok["loads"] is True


def test_fmt_gives_the_canonical_text(folder):
    from mtbrules.formatter import format_text

    client, studio = client_for([folder])
    csrf = csrf_of(client)
    text, _ = studio.workspace.get("qingdao").read(RULES)
    messy = text.replace("submitted_on + 7 working_days", "submitted_on+7   working_days")
    r = _post(client, "/p/qingdao/fmt", {"file": RULES, "text": messy}, csrf)
    assert r.json()["text"] == format_text(messy, RULES)
    assert "submitted_on + 7 working_days" in r.json()["text"]


# ---------------------------------------------------------------- the notice


@pytest.mark.parametrize("pack_id", mtbrules.builtin_packs())
def test_every_rule_quote_is_found_and_highlighted(pack_id):
    from mtbrules.checker.lint import normalize_quote

    pack = mtbrules.load_pack(pack_id)
    views = {v.source_id: v for v in source_views(pack)}
    for rule in pack.rules:
        view = views.get(rule.source.doc)
        if not rule.source.quote or view is None or not view.passages:
            continue
        assert rule.id in view.located, f"{pack_id}: quote of {rule.id} not located"
        # The highlighted text (over one line or several) holds the quote as the checker reads it.
        marked = "\n".join(
            text for p in view.passages for text, rules in p.pieces() if rule.id in rules
        )
        first = next(p for p in view.passages if rule.id in {r for s in p.spans for r in s.rules})
        assert first.number == view.located[rule.id]
        for traditional in (False, True):
            if normalize_quote(rule.source.quote, traditional) in normalize_quote(
                marked, traditional
            ):
                break
        else:
            pytest.fail(f"{pack_id}: {rule.id}: highlight {marked!r} is not the quote")
    for p in views[next(iter(views))].passages:
        assert "".join(t for t, _ in p.pieces()) == p.text


# ---------------------------------------------------------------- the case form


def _as_form(values: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in values.items():
        out[key] = list(value) if isinstance(value, list) else [value]
    return out


@pytest.mark.parametrize("pack_id", mtbrules.builtin_packs())
def test_a_scenario_through_the_form_decides_the_same(pack_id):
    pack = mtbrules.load_pack(pack_id)
    tried = 0
    for scenario in load_scenarios(pack):
        case = scenario.case
        if any(isinstance(m, dict) for m in case.get("materials", [])):
            continue  # issued_on dates are not in the form (docs/studio.md)
        try:
            want = pack.evaluate(case).to_dict()
        except mtbrules.InputError:
            continue
        got = pack.evaluate(case_from_form(pack, _as_form(form_values(case)))).to_dict()
        assert got == want, scenario.name
        tried += 1
    assert tried >= 3


def test_a_bad_number_names_the_field():
    pack = mtbrules.load_pack("qingdao")
    with pytest.raises(mtbrules.CaseError) as err:
        case_from_form(pack, {"service": ["certificate"], "hospital_level": ["three"]})
    assert err.value.field == "hospital_level"


# ---------------------------------------------------------------- languages and HTML


def test_every_word_the_templates_use_exists_in_both_languages():
    used = set()
    for path in (ROOT / "src/mtbrules/studio/templates").glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+)'\)", path.read_text(encoding="utf-8")))
    assert used
    for lang, words in WORDS.items():
        assert not used - set(words), (lang, sorted(used - set(words)))
    assert set(WORDS["zh"]) == set(WORDS["en"])
    for outcome in mtbrules.decision.OUTCOMES:
        assert WORDS["en"]["outcome_" + outcome] != WORDS["zh"]["outcome_" + outcome]


def test_english_pages(folder):
    client, _ = client_for([folder])
    client.cookies.set("mtbrules_studio_8765", TOKEN)
    r = client.get("/lang?to=en&back=/p/qingdao/notice")
    assert r.status_code == 303 and r.headers["location"] == "/p/qingdao/notice"
    client.cookies.set("studio_lang", "en")
    assert "Rules by clause" in client.get("/p/qingdao/notice").text
    assert client.get("/lang?to=en&back=//evil.example").headers["location"] == "/"


def test_notebook_html_escapes_and_shows_the_decision():
    from mtbrules.diff import impact
    from mtbrules.explain import explain

    pack = mtbrules.load_pack("qingdao")
    case = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["支气管哮喘"]}
    d = pack.evaluate(case)
    html = d._repr_html_()
    assert "outcome: review" in html and "2025-10-15" in html
    import attrs

    tampered = attrs.evolve(d, warnings=("<script>x</script>",))
    assert "<script>" not in tampered._repr_html_()
    assert "&lt;script&gt;" in tampered._repr_html_()
    x = explain(pack, case)
    assert "general_time_limit" in x._repr_html_()
    imp = impact(pack, pack, [case])
    assert "0</b> of 1 decisions change" in imp._repr_html_()


def test_an_impact_without_a_caseload_says_so_as_a_fragment(folder):
    client, studio = client_for([folder])
    csrf = csrf_of(client)
    text, _ = studio.workspace.get("qingdao").read(RULES)
    r = client.post(
        "/p/qingdao/impact",
        content=json.dumps({"file": RULES, "text": text, "caseload": "no-such-upload"}),
        headers={"Authorization": f"token {TOKEN}", "X-Studio-CSRF": csrf, "Accept": "text/html"},
    )
    assert r.status_code == 400
    assert 'class="error"' in r.text and "choose a caseload file first" in r.text


def test_an_impact_job_counts_and_blames(folder):
    import time

    from mtbrules.studio.jobs import ImpactJob, synthetic

    old = mtbrules.load_pack(folder)
    path = folder / RULES
    path.write_text(
        path.read_text(encoding="utf-8").replace("+ 7 working_days", "+ 5 working_days"),
        encoding="utf-8",
    )
    from mtbrules.loader import load_pack_folder

    new = load_pack_folder(folder)
    job = ImpactJob(old, new, synthetic(old, 300, 1), 300, "synth")
    deadline = time.monotonic() + 60
    while job.state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.state == "done" and job.done == 300
    data = job.impact.to_dict()
    assert data["summary"]["cases"] == 300
    shifted = [g for g in data["deadlines"] if g["change"] == "shifted"]
    assert shifted and "general_time_limit" in shifted[0]["rules"]
    assert all(int(k) < 0 for k in shifted[0]["shift_days"])
    # Cancelled at once: stops, and says so.
    stopped = ImpactJob(old, new, synthetic(old, 100_000, 1), 100_000, "synth")
    stopped.cancel()
    while stopped.state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stopped.state == "cancelled" and stopped.done < 100_000


def test_the_studio_page_shows_screens_the_script_makes():
    page = (ROOT / "docs" / "studio.md").read_text(encoding="utf-8")
    script = (ROOT / "docs" / "studio_screens.py").read_text(encoding="utf-8")
    images = re.findall(r"\]\((studio/[^)]+\.png)\)", page)
    assert len(images) >= 8
    for image in images:
        assert (ROOT / "docs" / image).is_file(), image
        assert Path(image).name in script, f"{image} is not made by docs/studio_screens.py"


def test_every_asset_is_served_by_the_studio():
    """No page or script of the studio loads anything from another host (no CDN)."""
    studio_dir = ROOT / "src/mtbrules/studio"
    for path in [*studio_dir.glob("templates/*.html"), *studio_dir.glob("static/*.*")]:
        text = path.read_text(encoding="utf-8")
        for ref in re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?([^"' )>]+)""", text):
            assert not re.match(r"(https?:)?//", ref), f"{path.name}: {ref}"
    for name in ("htmx.min.js", "codemirror.min.js"):
        assert (studio_dir / "static/vendor" / name).stat().st_size > 10_000
    licences = {p.name for p in (studio_dir / "static/vendor/licenses").iterdir()}
    assert {"htmx.org.LICENSE.txt", "codemirror.LICENSE.txt"} <= licences


def test_a_too_large_upload_is_refused_before_it_is_read(folder):
    from mtbrules.studio.app import MAX_BODY

    client, studio = client_for([folder])
    csrf = csrf_of(client)
    r = client.post(
        "/caseloads?name=big.jsonl",
        content=b"{}\n",
        headers={
            "Authorization": f"token {TOKEN}",
            "X-Studio-CSRF": csrf,
            "Accept": "application/json",
            "Content-Length": str(MAX_BODY + 1),
        },
    )
    assert r.status_code == 400 and "larger than" in r.json()["error"]
    assert studio.jobs.caseloads == {}
