"""The studio in a real browser: open the page, try a case, edit a time limit, save, see the
impact chart change, reject a stale save, and the token check (issue 15 item 5)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from studio_proc import start_studio, stop_studio

pytest.importorskip("playwright.sync_api")

RULES = "rules/s2_3_time_limits.yaml"


def _status(
    url: str, headers: dict | None = None, method: str = "GET", data: bytes | None = None
) -> int:
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_token_guards_every_request(studio, page):
    # No token, a wrong one: refused, in the browser too.
    assert _status(f"{studio.base}/p/qingdao/notice") == 403
    assert _status(f"{studio.base}/static/studio.js") == 403
    assert _status(f"{studio.base}/p/qingdao/notice?token=wrong") == 403
    page.goto(f"{studio.base}/p/qingdao/try")
    assert "403" in page.title()
    assert page.locator(".refused").inner_text().startswith("no token")
    # The printed URL: a cookie, and the token leaves the address bar.
    page.goto(studio.url)
    assert page.url == f"{studio.base}/p/qingdao/notice"
    assert "token" not in page.url
    # With the cookie: later pages load without the token.
    page.goto(f"{studio.base}/p/qingdao/try")
    assert page.locator("#case-form").is_visible()
    # A foreign Host (DNS rebinding) is refused even with the token.
    auth = {"Authorization": f"token {studio.token}"}
    assert _status(f"{studio.base}/p/qingdao/notice", auth) == 200
    assert _status(f"{studio.base}/p/qingdao/notice", {**auth, "Host": "evil.example:80"}) == 403
    # A change without the page's CSRF header is refused, even with the cookie.
    body = b'{"file": "rules/s2_3_time_limits.yaml", "text": "x", "sha": "0"}'
    assert _status(f"{studio.base}/p/qingdao/save", auth, "POST", body) == 403


def test_the_notice_and_the_rules_side_by_side(studio, page):
    page.goto(studio.url)
    rule = page.locator("#rule-general_time_limit")
    assert "一般病种为7个工作日" in rule.inner_text()
    mark = page.locator('mark.quote[data-rules~="general_time_limit"]')
    assert mark.count() == 1 and "一般病种为7个工作日" in mark.inner_text()
    rule.click()
    page.wait_for_function(
        "document.querySelector('mark.quote[data-rules~=\"general_time_limit\"]').classList.contains('flash')"
    )
    assert mark.is_visible()
    # And back: a quote leads to its rule.
    page.locator('mark.quote[data-rules~="instant_time_limit"]').first.click()
    page.wait_for_function(
        "document.getElementById('rule-instant_time_limit').classList.contains('flash')"
    )
    # Passages no rule cites are marked; the catalogues and notes are there.
    assert page.locator(".passage.uncited").count() > 0
    assert page.locator("#diseases tr").count() > 50
    assert page.locator("#note-instant-list-incomplete").is_visible()


def test_try_a_case(studio, page):
    page.goto(studio.url)
    page.goto(f"{studio.base}/p/qingdao/try?scenario=none")
    page.select_option("#f-service", "certificate")
    page.fill("#f-submitted_on", "2025-09-29")
    # Traditional characters: the suggestion names the catalogue disease.
    page.fill("#f-diseases", "支氣管哮喘")
    page.locator(".suggestion.exact").wait_for()
    assert "支气管哮喘" in page.locator(".suggestion.exact").inner_text()
    page.fill("#f-district", "市北区")
    page.click("#decide")
    page.locator("#outcome").wait_for()
    assert "review" in page.locator("#outcome").inner_text()
    assert page.locator('.deadlines .date[data-kind="decision_due"]').inner_text() == "2025-10-15"
    # The calendar: National Day off, the make-up Saturday 2025-10-11 worked, the deadline marked.
    assert "holiday" in page.locator('td[data-date="2025-10-01"]').get_attribute("class")
    assert "makeup" in page.locator('td[data-date="2025-10-11"]').get_attribute("class")
    assert "decision_due" in page.locator('td[data-date="2025-10-15"]').get_attribute("class")
    # Why and why not, from explain.
    assert page.locator('.why .xrule[data-rule="general_time_limit"]').count() == 1
    assert page.locator('.why-not .xrule[data-rule="instant_time_limit"]').count() == 1
    # The same case in every built-in pack.
    packs = page.locator("table.compare tr[data-pack]")
    assert packs.count() == 5
    # Copy as JSON and as a scenario.
    case_json = page.locator("#case-json").text_content()
    assert '"submitted_on": "2025-09-29"' in case_json
    scenario = page.locator("#case-scenario").text_content()
    assert "decision_due: '2025-10-15'" in scenario or "decision_due: 2025-10-15" in scenario
    page.click('[data-copy="case-json"]')
    page.locator(".copied").wait_for()


def test_a_missing_field_is_named_and_an_unknown_disease_decided_as_the_engine_does(studio, page):
    page.goto(studio.url)
    page.goto(f"{studio.base}/p/qingdao/try?scenario=none")
    # The blank form is decided on load: the error names the field, no traceback.
    error = page.locator("#decision .error")
    error.wait_for()
    assert error.get_attribute("data-field") == "service"
    assert "service" in error.inner_text() and "Traceback" not in page.content()
    page.fill("#f-submitted_on", "2025-09-29")
    page.select_option("#f-service", "certificate")
    page.fill("#f-diseases", "没有这种病")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/try")):
        page.click("#decide")
    import mtbrules

    expected = mtbrules.load_pack(studio.folder).evaluate(
        {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["没有这种病"]}
    )
    assert expected.outcome in page.locator("#outcome").inner_text()
    assert "没有这种病" in page.locator("#decision").inner_text() or expected.reasons


def _open_editor(studio, page, file=RULES):
    page.goto(studio.url)
    page.goto(f"{studio.base}/p/qingdao/edit?file={file}")
    page.locator(".cm-editor").wait_for()
    page.wait_for_function("window.studioEditor !== undefined")


def _replace(page, old: str, new: str):
    page.evaluate(
        """([old, neu]) => {
            const v = window.studioEditor, text = v.state.doc.toString(), at = text.indexOf(old);
            if (at < 0) throw new Error('not in the editor: ' + old);
            v.dispatch({changes: {from: at, to: at + old.length, insert: neu}});
        }""",
        [old, new],
    )


def _impact(page, n=400):
    page.fill("#synth-n", str(n))
    page.click("#btn-impact")
    page.wait_for_selector('.job[data-state="done"]', timeout=30000)


def test_edit_a_time_limit_save_and_see_the_impact(studio, page):
    _open_editor(studio, page)
    # Before any change: the impact is nothing.
    _impact(page)
    assert page.locator(".impact-summary").get_attribute("data-changed") == "0"
    assert page.locator("#chart-deadlines svg").count() == 0
    # Diagnostics as you type, at line:column.
    _replace(page, "submitted_on + 7 working_days", "submitted_on + 7 wrking_days")
    page.wait_for_function("document.querySelector('#diagnostics .diag.error') !== null")
    text = page.locator("#diagnostics").inner_text()
    assert re.search(r"rules/s2_3_time_limits\.yaml:\d+:\d+: MTB\d{3}", text), text
    assert page.locator(".cm-lint-marker-error").count() >= 1
    # The fix: 5 working days instead of 7.
    _replace(page, "submitted_on + 7 wrking_days", "submitted_on + 5 working_days")
    page.wait_for_function("document.querySelector('#diagnostics').classList.contains('clean')")
    page.click("#btn-save")
    page.wait_for_function("document.getElementById('save-status').textContent.includes('✓')")
    assert "submitted_on + 5 working_days" in (studio.folder / RULES).read_text(encoding="utf-8")
    # The scenarios run again: the one expecting 2025-10-15 now fails.
    page.wait_for_selector(".scenario-summary")
    page.wait_for_function("document.querySelector('.scenario-summary').dataset.failed !== '0'")
    # The impact chart now shows the deadlines moving earlier.
    _impact(page)
    assert int(page.locator(".impact-summary").get_attribute("data-changed")) > 0
    static = page.locator(".static-changes").inner_text()
    assert "general_time_limit" in static and "submitted_on + 5 working_days" in static
    bars = page.locator("#chart-deadlines svg g.bar")
    assert bars.count() >= 1
    # A bar leads to its cases, blamed on the changed rule, and to one case before/after.
    bars.first.click()
    page.locator(".rows").wait_for()
    assert "general_time_limit" in page.locator(".rows").inner_text()
    page.locator(".row-link").first.click()
    page.locator(".case-pair").wait_for()
    assert page.locator(".case-pair .side").count() == 2


def test_a_stale_save_is_refused_and_the_edit_kept(studio, page):
    _open_editor(studio, page, "rules/s2_4_designated_hospital.yaml")
    path = studio.folder / "rules/s2_4_designated_hospital.yaml"
    # Someone else changes the file on disk after the editor opened it.
    other = path.read_text(encoding="utf-8") + "# changed by someone else\n"
    path.write_text(other, encoding="utf-8")
    _replace(page, "rules:", "rules:  # my edit")
    page.click("#btn-save")
    page.locator("#stale").wait_for(state="visible")
    assert path.read_text(encoding="utf-8") == other  # nothing written
    assert "changed by someone else" in page.locator("#disk-text").text_content()
    assert "# my edit" in page.evaluate("window.studioEditor.state.doc.toString()")
    # Choosing to overwrite, having seen the disk version, saves.
    page.click("#btn-overwrite")
    page.wait_for_function("document.getElementById('save-status').textContent.includes('✓')")
    assert "# my edit" in path.read_text(encoding="utf-8")


def test_impact_on_a_chosen_caseload_file(studio, page, tmp_path):
    csv = tmp_path / "cases.csv"
    csv.write_text(
        "service,submitted_on,diseases,district\n"
        "certificate,2025-09-29,支气管哮喘,市北区\n"
        "certificate,2025-09-29,恶性肿瘤,市南区\n"
        "certificate,not-a-date,恶性肿瘤,市南区\n",
        encoding="utf-8",
    )
    _open_editor(studio, page)
    page.set_input_files("#caseload-file", str(csv))
    page.wait_for_function("document.getElementById('caseload-info').textContent.includes(': 3')")
    page.click("#btn-impact")
    page.wait_for_selector('.job[data-state="done"]')
    summary = page.locator(".impact-summary").inner_text()
    assert "/ 3" in summary  # every record read; the bad date is an invalid case, not a crash
    assert "cases.csv" in page.locator(".job").inner_text()


def test_a_running_impact_can_be_cancelled(studio, page):
    _open_editor(studio, page)
    page.fill("#synth-n", "100000")
    page.click("#btn-impact")
    page.locator("#btn-cancel").click()
    page.wait_for_selector('.job[data-state="cancelled"]')
    done = page.locator(".job").inner_text()
    assert "100000" in done


def test_a_built_in_pack_opens_read_only(tmp_path, browser):
    s = start_studio(["qingdao"], tmp_path / "studio.log")
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(s.url)
        assert page.url.endswith("/p/qingdao/notice")
        page.goto(f"{s.base}/p/qingdao/edit")
        page.locator(".cm-editor").wait_for()
        assert page.locator("#btn-save").is_disabled()
        context.close()
    finally:
        stop_studio(s)
    # Case values never reach the log: only method, path and status.
    assert "2025-09-29" not in s.log_text()
