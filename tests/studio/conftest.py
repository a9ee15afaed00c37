"""The studio as a real process (the installed `mtbrules` entry point) and a real browser
(Playwright driving Debian's Chromium, installed by .ci/run: `apt-get install -y chromium`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from studio_proc import CHROMIUM, CHROMIUM_ARGS, ROOT, start_studio, stop_studio


@pytest.fixture(scope="module")
def pack_copy(tmp_path_factory) -> Path:
    """An editable copy of the Qingdao pack."""
    folder = tmp_path_factory.mktemp("packs") / "qingdao"
    shutil.copytree(ROOT / "policies" / "qingdao", folder)
    return folder


@pytest.fixture(scope="module")
def studio(pack_copy, tmp_path_factory):
    s = start_studio([str(pack_copy)], tmp_path_factory.mktemp("log") / "studio.log")
    yield s
    stop_studio(s)


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (see .ci/run)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(15000)
    yield pg
    context.close()
    assert not errors, f"script errors on the page: {errors}"
