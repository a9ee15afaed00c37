"""Regenerate the screenshots of docs/studio.md: the studio on a copy of the Qingdao pack, driven
by Playwright in Debian's Chromium (apt-get install -y chromium fonts-noto-cjk).

Run from the repository root, with the test extra installed (about half a minute):

    python docs/studio_screens.py

It starts `mtbrules studio` (the installed entry point) on a temporary copy of
policies/qingdao, makes the walkthrough's changes of docs/analysts.md (7
working days → 5, two years of outpatient treatment → one; made up, not policy
facts) and writes docs/studio/*.png.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "studio"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RULES = "rules/s2_3_time_limits.yaml"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qingdao"
        shutil.copytree(ROOT / "policies" / "qingdao", folder)
        exe = Path(sys.executable).with_name("mtbrules")
        proc = subprocess.Popen(
            [str(exe), "studio", "--no-browser", "--port", "0", str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            url = proc.stdout.readline().strip() if proc.stdout else ""
            if not url.startswith("http://"):
                print("the studio did not start", file=sys.stderr)
                return 1
            base = url.split("/p/")[0]
            shoot(url, base, folder)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    for png in sorted(OUT.glob("*.png")):
        print(png.relative_to(ROOT))
    return 0


def shoot(url: str, base: str, folder: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page.set_default_timeout(30000)

        # Screen 4 first: without the token, the studio refuses.
        page.goto(f"{base}/p/qingdao/notice")
        page.screenshot(
            path=OUT / "4-token-refused.png", clip={"x": 0, "y": 0, "width": 900, "height": 220}
        )

        # 1. The pack against its notice: a rule clicked, its quote highlighted in the text.
        page.goto(url)
        page.locator("#rule-general_time_limit").click()
        page.wait_for_timeout(400)
        page.screenshot(path=OUT / "1-notice.png")
        page.locator(".catalogues").scroll_into_view_if_needed()
        page.screenshot(path=OUT / "1-catalogues.png")

        # 2. Try a case: Traditional characters, a deadline across National Day.
        page.goto(f"{base}/p/qingdao/try?scenario=none")
        page.select_option("#f-service", "certificate")
        page.fill("#f-submitted_on", "2025-09-29")
        page.fill("#f-diseases", "支氣管哮喘")
        page.locator(".suggestion.exact").wait_for()
        page.fill("#f-district", "市北区")
        with page.expect_response(lambda r: r.request.method == "POST"):
            page.click("#decide")
        page.locator("#outcome").wait_for()
        page.screenshot(path=OUT / "2-try-a-case.png")
        page.locator("details.why").scroll_into_view_if_needed()
        page.locator("details.why-not summary").click()
        page.locator("h3:has-text('同一案件')").scroll_into_view_if_needed()
        page.screenshot(path=OUT / "2-why-and-compare.png")

        # 3. Change a rule: 7 working days → 5, a typo first (diagnostics as you type), save.
        # The walkthrough's other change (docs/analysts.md), outpatient_years < 2 → < 1, is
        # made on disk first, as if saved earlier: the impact shows both.
        other = folder / "rules/s2_2_materials.yaml"
        text = other.read_text(encoding="utf-8")
        other.write_text(
            text.replace("outpatient_years < 2", "outpatient_years < 1"), encoding="utf-8"
        )
        page.goto(f"{base}/p/qingdao/edit?file={RULES}")
        page.wait_for_function("window.studioEditor !== undefined")
        replace(page, "submitted_on + 7 working_days", "submitted_on + 5 wrking_days")
        page.wait_for_function("document.querySelector('#diagnostics .diag.error') !== null")
        page.wait_for_timeout(300)
        page.screenshot(path=OUT / "3-diagnostics.png")
        replace(page, "wrking_days", "working_days")
        page.wait_for_function("document.querySelector('#diagnostics').classList.contains('clean')")
        page.click("#btn-save")
        page.wait_for_function("document.getElementById('save-status').textContent.includes('✓')")
        page.wait_for_selector(".scenario-summary")
        page.fill("#synth-n", "3000")
        page.fill("#synth-seed", "2025")
        page.click("#btn-impact")
        page.wait_for_selector('.job[data-state="done"]', timeout=120000)
        page.locator("#chart-deadlines svg g.bar").first.click()
        page.locator(".rows").wait_for()
        page.locator(".row-link").first.click()
        page.locator(".case-pair").wait_for()
        page.add_style_tag(content="header.top { position: static; }")
        page.locator(".effect-pane").screenshot(path=OUT / "3-impact.png")

        # 4. A stale save: the file changed on disk after the editor opened it.
        page.goto(f"{base}/p/qingdao/edit?file=rules/s2_4_designated_hospital.yaml")
        page.wait_for_function("window.studioEditor !== undefined")
        path = folder / "rules/s2_4_designated_hospital.yaml"
        path.write_text(
            path.read_text(encoding="utf-8") + "# changed by someone else\n", encoding="utf-8"
        )
        replace(page, "rules:", "rules:  # my edit")
        page.click("#btn-save")
        page.locator("#stale").wait_for(state="visible")
        page.screenshot(path=OUT / "4-stale-save.png")

        # The English pages.
        page.goto(f"{base}/lang?to=en&back=/p/qingdao/notice")
        page.screenshot(path=OUT / "1-notice-en.png")
        browser.close()


def replace(page, old: str, new: str) -> None:
    page.evaluate(
        """([old, neu]) => {
            const v = window.studioEditor, text = v.state.doc.toString(), at = text.indexOf(old);
            if (at < 0) throw new Error('not in the editor: ' + old);
            v.dispatch({changes: {from: at, to: at + old.length, insert: neu}});
        }""",
        [old, new],
    )


if __name__ == "__main__":
    sys.exit(main())
