"""One language per answer: the engine's messages in zh and en (messages.py), chosen by
`lang` / `--lang` / `Accept-Language`; pack text printed on a terminal is escaped."""

from __future__ import annotations

import json
import re
import string

import pytest
from packbuilder import MINI_PACK, write_pack

import mtbrules
from mtbrules.cli import main
from mtbrules.errors import InputError
from mtbrules.loader import load_pack_folder
from mtbrules.messages import CATALOGUE, LANGS, check_lang, negotiate, span, text
from mtbrules.render import decision_text
from mtbrules.terminal import one_line, printable
from mtbrules.tester import load_scenarios

#: Three English words in a row: an English sentence (or the start of one). Ids such as
#: `disease-list-missing` or `decision_due` are one token.
ENGLISH = re.compile(r"(?<![\w-])[A-Za-z]{2,}(?:[ ,'’]+[A-Za-z]{2,}(?![\w-])){2,}")


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


class TestCatalogue:
    @pytest.mark.parametrize("message_id", sorted(CATALOGUE))
    def test_every_id_in_both_languages(self, message_id):
        entry = CATALOGUE[message_id]
        assert set(entry) == set(LANGS)
        assert all(entry[lang] for lang in LANGS)
        assert _fields(entry["zh"]) == _fields(entry["en"]), "same placeholders in both"

    @pytest.mark.parametrize("message_id", sorted(CATALOGUE))
    def test_chinese_has_no_english(self, message_id):
        """Apart from placeholders and the contract's field names, no Latin words at all."""
        template = re.sub(r"\{[^}]*\}", "", CATALOGUE[message_id]["zh"])
        words = set(re.findall(r"[A-Za-z_]{2,}", template))
        assert words <= {"issued_on"}, words

    def test_spans(self):
        assert span(7, "working_days", "en") == "7 working days"
        assert span(1, "working_days", "en") == "1 working day"
        assert span(1, "days", "zh") == "1天" and span(6, "months", "zh") == "6个月"

    def test_unknown_language_is_an_input_error(self, mini_pack):
        with pytest.raises(InputError, match="allowed: zh, en"):
            check_lang("fr")
        with pytest.raises(InputError):
            mini_pack.evaluate({"service": "certificate", "submitted_on": "2025-09-29"}, lang="de")

    @pytest.mark.parametrize(
        ("header", "lang"),
        [
            ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
            ("en-US,en;q=0.9,zh;q=0.8", "en"),
            ("fr, zh;q=0.5", "zh"),
            ("fr", "en"),
            ("zh;q=0.2, en;q=0.9", "en"),
            ("zh;q=bad, en;q=0.1", "en"),
            ("", "en"),
            (None, "en"),
        ],
    )
    def test_accept_language(self, header, lang):
        assert negotiate(header) == lang


def _engine_texts(decision):
    """Everything in a decision that is not a name: reasons, warnings, bases, the engine's
    path titles (a rule's title is its pack's: one quotes a Spanish document name)."""
    yield from (r.text for r in decision.reasons)
    yield from decision.warnings
    yield from (d.basis for d in decision.deadlines)
    yield from (p.title for p in decision.path if p.rule.startswith("pack:"))


def _cases():
    for ref in mtbrules.builtin_packs():
        pack = mtbrules.load_pack(ref)
        for sc in load_scenarios(pack):
            yield pytest.param(ref, sc.case, id=f"{ref}:{sc.location.line}")


@pytest.mark.parametrize(("ref", "case"), list(_cases()))
def test_zh_answer_has_no_english_sentence(ref, case):
    """Done-when of issue 17: every built-in scenario's answer in zh, engine text included."""
    pack = mtbrules.load_pack(ref)
    try:
        decision = pack.evaluate(case, lang="zh")
    except mtbrules.MtbError:
        return  # scenarios that expect an input error
    for t in _engine_texts(decision):
        assert not ENGLISH.search(_no_code(t)), t
    report = decision_text(decision, pack, "zh")
    # names and titles as the pack writes them (one quotes a Spanish document name)
    for step in decision.path:
        report = report.replace(step.title, "")
    for doc in decision.required_documents:
        report = report.replace(doc.name, "")
    assert not ENGLISH.search(_no_code(report)), report


def _no_code(t: str) -> str:
    """Inline code (`mtbrules calendar add`) is a command, not a sentence."""
    return re.sub(r"`[^`]*`", "", t)


class TestEngineMessages:
    def test_provisional_deadline_in_zh(self):
        """The calendar's provisional warnings follow the answer's language too."""
        case = {
            "service": "certificate",
            "submitted_on": "2027-03-01",
            "scheme": "employee",
            "insurance_normal": True,
            "hospital_level": 3,
            "diseases": ["高血压"],
        }
        zh = mtbrules.load_pack("rizhao").evaluate(case, lang="zh")
        assert zh.deadline("decision_due").provisional
        w = next(w for w in zh.warnings if w.startswith("期限 decision_due 2027-03-29 为暂定"))
        assert "2027年官方放假调休安排" in w
        assert not ENGLISH.search(_no_code(w)), w
        en = mtbrules.load_pack("rizhao").evaluate(case)
        assert any(w.startswith("deadline decision_due") for w in en.warnings)

    def test_conditions_reading_provisional_days_in_zh(self):
        d = mtbrules.load_pack("jinzhou").evaluate(
            {"service": "reimbursement", "submitted_on": "2027-03-06"}, lang="zh"
        )
        w = next(w for w in d.warnings if w.startswith("规则条件用到了2027年的日期"))
        assert not ENGLISH.search(_no_code(w)), w

    def test_ineligible_did_you_mean(self, mini_pack):
        case = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["支气管扩张"]}
        zh = mini_pack.evaluate(case, lang="zh").reasons[0].text
        en = mini_pack.evaluate(case, lang="en").reasons[0].text
        assert zh.startswith("“支气管扩张”不是本包涵盖的病种") and "支气管哮喘" in zh
        assert en.startswith("'支气管扩张' is not a disease this pack covers")

    def test_basis_and_warnings(self, mini_pack):
        case = {
            "service": "certificate",
            "submitted_on": "2025-09-29",
            "diseases": ["支气管哮喘"],
            "materials": [{"name": "检查报告"}, "户口本"],
        }
        d = mini_pack.evaluate(case, lang="zh")
        assert d.deadline("decision_due").basis == "2025-09-29后7个工作日"
        assert any("未给出签发日期" in w and "6个月" in w for w in d.warnings)
        assert any("“户口本”" in w for w in d.warnings)
        en = mini_pack.evaluate(case)  # the library's default stays English
        assert en.deadline("decision_due").basis == "7 working days after 2025-09-29"

    def test_instant_basis(self, mini_pack):
        case = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["恶性肿瘤"]}
        basis = mini_pack.evaluate(case, lang="zh").deadline("decision_due").basis
        assert basis == "即时办结：受理当日（2025-09-29）"

    def test_names_do_not_change(self, mini_pack):
        """The contract: `name` is Chinese and `name_en` English whatever the language."""
        case = {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["支气管哮喘"]}
        zh = mini_pack.evaluate(case, lang="zh").to_dict()
        en = mini_pack.evaluate(case, lang="en").to_dict()
        assert zh["required_documents"] == en["required_documents"]
        assert zh["diseases"] == en["diseases"] and zh["channels"] == en["channels"]

    def test_undetermined_in_zh(self):
        d = mtbrules.load_pack("datong").evaluate(
            {"service": "certificate", "submitted_on": "2025-03-03", "diseases": ["糖尿病"]},
            lang="zh",
        )
        assert d.outcome == "undetermined"
        assert "本包无法确定" in d.reasons[0].text and "disease-list-missing" in d.reasons[0].text

    def test_module_level_evaluate(self):
        case = {
            "pack": "datong",
            "service": "certificate",
            "submitted_on": "2025-03-03",
            "diseases": ["糖尿病"],
        }
        assert "本包" in mtbrules.evaluate(case, lang="zh").reasons[0].text


UNKNOWN_TO_QINGDAO = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "diseases": ["牙周炎"],
}
DATONG_DIABETES = {"service": "certificate", "submitted_on": "2025-03-03", "diseases": ["糖尿病"]}


class TestCli:
    def _run(self, tmp_path, capsys, *args, case=None):
        path = tmp_path / "case.json"
        path.write_text(
            json.dumps(case or UNKNOWN_TO_QINGDAO, ensure_ascii=False), encoding="utf-8"
        )
        code = main(["eval", str(path), "--pack", "qingdao", *args])
        out, err = capsys.readouterr()
        return code, out, err

    def test_json_follows_lang(self, tmp_path, capsys):
        _, out, _ = self._run(tmp_path, capsys, "--lang", "zh")
        assert json.loads(out)["reasons"][0]["text"].startswith("“牙周炎”不是")

    def test_json_default_is_english_as_before(self, tmp_path, capsys):
        _, out, _ = self._run(tmp_path, capsys)
        assert "is not a disease this pack covers" in json.loads(out)["reasons"][0]["text"]

    def test_text_default_is_chinese_throughout(self, tmp_path, capsys):
        _, out, _ = self._run(tmp_path, capsys, "--format", "text")
        assert "不是本包涵盖的病种" in out and not ENGLISH.search(out)

    def test_text_en(self, tmp_path, capsys):
        _, out, _ = self._run(tmp_path, capsys, "--format", "text", "--lang", "en")
        assert "is not a disease this pack covers" in out

    def test_error_message_is_escaped(self, tmp_path, capsys):
        """A case value echoed in an error cannot drive the terminal."""
        case = {**UNKNOWN_TO_QINGDAO, "category": "\x1b]0;pwned\x07\x1b[2J"}
        code, out, err = self._run(tmp_path, capsys, case=case)
        assert code == 2 and out == ""
        assert "\x1b" not in err and "\x07" not in err
        assert "\\x1b]0;pwned\\x07\\x1b[2J" in err


class TestTerminal:
    @pytest.mark.parametrize(
        ("raw", "shown"),
        [
            ("\x1b[31m", "\\x1b[31m"),
            ("a\rb", "a\\x0db"),
            ("bell\x07", "bell\\x07"),
            ("\x9b2J", "\\x9b2J"),  # C1 CSI
            ("\u202eevil", "\\u202eevil"),  # right-to-left override
            ("tab\there", "tab\\x09here"),
            ("恶性肿瘤（乙类）", "恶性肿瘤（乙类）"),
        ],
    )
    def test_printable(self, raw, shown):
        assert printable(raw) == shown

    def test_newlines(self):
        assert printable("a\nb") == "a\nb" and one_line("a\nb") == "a\\nb"

    def test_pack_text_in_the_report(self, tmp_path):
        """A rule reason with control characters is shown, not executed, and cannot fake a line."""
        rules = MINI_PACK["rules/a.yaml"].replace(
            "            outcome: review\n",
            '            outcome: review\n            reason: "审核\\e[2J\\n  ! 伪造的提示"\n',
            1,
        )
        pack = load_pack_folder(write_pack(tmp_path, {"rules/a.yaml": rules}))
        d = pack.evaluate(
            {"service": "certificate", "submitted_on": "2025-09-29", "diseases": ["支气管哮喘"]},
            lang="zh",
        )
        out = decision_text(d, pack, "zh")
        assert "\x1b" not in out
        assert "审核\\x1b[2J\\n  ! 伪造的提示" in out
        assert "\n  ! 伪造的提示" not in out
        assert text("outcome.undetermined", "zh") in decision_text(
            mtbrules.load_pack("datong").evaluate(
                {"service": "certificate", "submitted_on": "2025-03-03", "diseases": ["糖尿病"]},
                lang="zh",
            ),
            None,
            "zh",
        )


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from mtbrules.service.app import ServiceConfig, create_app
    from mtbrules.service.packs import load_pack_set

    with TestClient(create_app(ServiceConfig(), load_pack_set(["datong"]))) as c:
        yield c


class TestService:
    """The service answers in the language `Accept-Language` prefers (English by default)."""

    @pytest.mark.parametrize(
        ("header", "start"),
        [({"Accept-Language": "zh-CN,zh;q=0.9"}, "“糖尿病”不在"), ({}, "'糖尿病' is not among")],
    )
    def test_evaluate(self, client, header, start):
        r = client.post("/v1/packs/datong/evaluate", json=DATONG_DIABETES, headers=header)
        assert r.status_code == 200 and r.json()["outcome"] == "undetermined"
        assert r.json()["reasons"][0]["text"].startswith(start)

    def test_batch(self, client):
        body = {"cases": [DATONG_DIABETES]}
        r = client.post("/v1/packs/datong/batch", json=body, headers={"Accept-Language": "zh"})
        assert r.json()["results"][0]["decision"]["reasons"][0]["text"].startswith("“糖尿病”")
        assert r.json()["summary"]["outcomes"] == {"undetermined": 1}
