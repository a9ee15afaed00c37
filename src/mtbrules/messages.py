"""The engine's own words, in Simplified Chinese and English: one catalogue keyed by message id.

Everything a decision says that the pack did not write — reasons, warnings, the
bases of deadlines, did-you-mean, the titles of the engine's path steps — comes
from here, in the language asked for (`pack.evaluate(case, lang="zh")`,
`mtbrules eval --lang zh`). Pack text (rule reasons, warnings, names) is quoted
as the pack wrote it. A test checks that every id has both languages with the
same placeholders, and that the Chinese texts contain no English sentence.

>>> text("unit.working_days", "zh", n=7)
'7个工作日'
>>> text("basis.after", "en", span="7 working days", base="2025-09-29")
'7 working days after 2025-09-29'
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import InputError

#: The languages of an answer.
LANGS = ("zh", "en")
#: The library's default: engine messages are English unless asked (compatible with 0.1).
DEFAULT_LANG = "en"

CATALOGUE: dict[str, dict[str, str]] = {
    # -- decisions the engine takes from the pack's metadata
    "case.other_pack": {
        "zh": "个案指定规则包“{named}”，但按“{pack}”判断",
        "en": "the case names pack '{named}' but was evaluated with '{pack}'",
    },
    "versions.none": {
        "zh": "{date}没有生效的{pack}政策版本（{spans}）",
        "en": "no version of {pack} is in force on {date} ({spans})",
    },
    "versions.step": {"zh": "生效的政策版本", "en": "policy version in force"},
    "services.none": {
        "zh": "{pack}没有“{service}”业务的政策（本包涵盖：{services}）",
        "en": "{pack} has no policy for service '{service}' (it covers: {services})",
    },
    "services.step": {"zh": "本包涵盖的业务", "en": "services of the pack"},
    "diseases.not_used": {
        "zh": "{pack}不按病种判断，未使用个案中的病种",
        "en": "{pack} does not decide by disease; the case's diseases were not used",
    },
    "diseases.not_covered": {
        "zh": "“{name}”不是本包涵盖的病种",
        "en": "'{name}' is not a disease this pack covers",
    },
    "diseases.closest_covered": {
        "zh": "；最接近的病种：{names}",
        "en": "; closest covered: {names}",
    },
    "diseases.step": {"zh": "本包涵盖的病种", "en": "diseases covered by the pack"},
    "diseases.unknown_members": {
        "zh": "政策共涵盖{stated}种病种，本包只收录{listed}种：“{names}”可能属于其余病种。{note}",
        "en": "the policy covers {stated} diseases but the pack knows only {listed}: "
        "'{names}' may be one of the others. {note}",
    },
    # -- undetermined: the source is silent
    "diseases.unlisted": {
        "zh": "“{name}”不在本包收录的{listed}种病种之中（政策共{stated}种），本包无法确定它是否属于政策涵盖的病种",
        "en": "'{name}' is not among the {listed} diseases this pack lists, of the {stated} the "
        "policy covers: the pack cannot say whether it is covered",
    },
    "diseases.closest_listed": {
        "zh": "；最接近的已收录病种：{names}",
        "en": "; closest listed: {names}",
    },
    "diseases.see_note": {"zh": "（见本包说明 {note}）", "en": " (pack note {note})"},
    "diseases.unlisted_step": {
        "zh": "本包病种目录未收录的病种",
        "en": "diseases the pack's catalogue does not list",
    },
    "diseases.listed_outcome": {
        "zh": "对{names}，本包的决定是{outcome_name}（{outcome}）；所列材料、渠道和期限是这些病种的",
        "en": "for {names} the pack decides: {outcome} ({outcome_name}); the documents, channels "
        "and deadlines listed are for these",
    },
    "diseases.listed_no_outcome": {
        "zh": "{pack}没有规则对{names}的此项{service}申请作出决定",
        "en": "no rule of {pack} decides this {service} case for {names}",
    },
    # -- rules
    "rules.undecided": {
        "zh": "规则 {rule} 无法判断：个案未提供 {fields}",
        "en": "rule {rule} could not be decided: the case does not give {fields}",
    },
    "rules.no_outcome": {
        "zh": "{pack}没有规则对此项{service}申请作出决定",
        "en": "no rule of {pack} decides this {service} case",
    },
    "rules.no_outcome_step": {"zh": "没有规则决定此申请", "en": "no rule decides the case"},
    # -- materials
    "materials.unknown": {
        "zh": "材料“{name}”不是本包已知的文件",
        "en": "material '{name}' is not a document this pack knows",
    },
    "materials.no_date": {
        "zh": "{doc}的材料未给出签发日期（issued_on）：须在{date}前{span}内签发，故不计入",
        "en": "material for {doc} has no issued_on: it must be issued within {span} of {date}, "
        "so it is not counted",
    },
    "materials.too_old": {
        "zh": "{doc}的材料签发于{issued}，不在{date}前{span}内",
        "en": "material for {doc} was issued on {issued}, not within {span} before {date}",
    },
    # -- deadlines
    "deadlines.undefined": {
        "zh": "规则 {rule} 的期限 {kind} 无法计算：个案未提供 {fields}",
        "en": "deadline {kind} of rule {rule} cannot be computed: the case does not give {fields}",
    },
    "basis.instant": {
        "zh": "即时办结：受理当日（{date}）",
        "en": "decided on the spot: the day of submission, {date}",
    },
    "basis.after": {"zh": "{base}后{span}", "en": "{span} after {base}"},
    "basis.before": {"zh": "{base}前{span}", "en": "{span} before {base}"},
    "basis.end_of_year": {"zh": "{0}所在年度末", "en": "the end of the year of {0}"},
    "basis.end_of_quarter": {"zh": "{0}所在季度末", "en": "the end of the quarter of {0}"},
    "basis.end_of_month": {"zh": "{0}所在月末", "en": "the end of the month of {0}"},
    "basis.start_of_year": {"zh": "{0}所在年度初", "en": "the start of the year of {0}"},
    "basis.start_of_quarter": {"zh": "{0}所在季度初", "en": "the start of the quarter of {0}"},
    "basis.start_of_month": {"zh": "{0}所在月初", "en": "the start of the month of {0}"},
    "basis.start_of_next_year": {"zh": "{0}的次年年初", "en": "the start of the year after {0}"},
    "basis.start_of_next_quarter": {
        "zh": "{0}的下一季度初",
        "en": "the start of the quarter after {0}",
    },
    "basis.start_of_next_month": {"zh": "{0}的下月初", "en": "the start of the month after {0}"},
    "basis.day_of_month": {"zh": "{0}所在月第{1}日", "en": "day {1} of the month of {0}"},
    "basis.nth_working_day": {
        "zh": "{0}所在月第{1}个工作日",
        "en": "working day {1} of the month of {0}",
    },
    "basis.natural_years_end": {
        "zh": "自{0}起{1}个自然年度末",
        "en": "the end of {1} natural years starting with {0}",
    },
    # -- spans ("7 working days"); English has a singular
    "unit.working_days": {"zh": "{n}个工作日", "en": "{n} working days"},
    "unit.working_days.one": {"zh": "{n}个工作日", "en": "{n} working day"},
    "unit.days": {"zh": "{n}天", "en": "{n} days"},
    "unit.days.one": {"zh": "{n}天", "en": "{n} day"},
    "unit.weeks": {"zh": "{n}周", "en": "{n} weeks"},
    "unit.weeks.one": {"zh": "{n}周", "en": "{n} week"},
    "unit.months": {"zh": "{n}个月", "en": "{n} months"},
    "unit.months.one": {"zh": "{n}个月", "en": "{n} month"},
    "unit.years": {"zh": "{n}年", "en": "{n} years"},
    "unit.years.one": {"zh": "{n}年", "en": "{n} year"},
    # -- outcomes, as a reason names them
    "outcome.instant": {"zh": "即时办结", "en": "decided on the spot"},
    "outcome.review": {"zh": "受理审核", "en": "accepted for review"},
    "outcome.ineligible": {"zh": "不符合条件", "en": "ineligible"},
    "outcome.not_covered": {"zh": "不在本政策范围内", "en": "not covered by this policy"},
    "outcome.undetermined": {
        "zh": "无法确定（政策原文未说明）",
        "en": "undetermined (the source is silent)",
    },
    # -- deadlines and windows counted on years without an official schedule (workdays.Provisional)
    "calendar.provisional": {
        "zh": "{what} {value} 为暂定：本日历尚无{years}年官方放假调休安排，{years}年按周末和"
        "《全国年节及纪念日放假办法》（{decree}）规定的法定节假日计算，不假定调休上班日",
        "en": "{what} {value} is provisional: the official {years} holiday schedule (放假调休) is "
        "not known to this calendar, so {years} is counted on weekends and the statutory holidays "
        "of 《全国年节及纪念日放假办法》 ({decree}), with no make-up working days",
    },
    "calendar.could_move": {
        "zh": "；该年安排公布后，最晚可能推迟到{latest}",
        "en": "; once it is published it could move to as late as {latest}",
    },
    "calendar.would_not_move": {
        "zh": "；按已公布安排中出现过的假期，不会再推迟",
        "en": "; the holiday blocks the published schedules have given would not move it later",
    },
    "calendar.reading": {
        "zh": "{what}用到了{years}年的日期，本日历尚无该年官方放假调休安排：这些日期是否上班，按周末和"
        "《全国年节及纪念日放假办法》（{decree}）规定的法定节假日判断，不假定调休上班日",
        "en": "{what} read days of {years}, whose official holiday schedule (放假调休) is not known "
        "to this calendar: they were taken as working days or days off by weekends and the "
        "statutory holidays of 《全国年节及纪念日放假办法》 ({decree}), with no make-up working days",
    },
    "calendar.add": {
        "zh": "（添加{years}年安排：`{command}`，见 {page}）",
        "en": " (add the {years} schedule: `{command}`, {page})",
    },
    "calendar.what.conditions": {"zh": "规则条件", "en": "the rules' conditions"},
    "calendar.what.window": {"zh": "{doc}的{span}期限", "en": "the {span} window for {doc}"},
    "calendar.what.deadline": {"zh": "期限 {kind}", "en": "deadline {kind}"},
    # -- compare
    "compare.field_left_out": {
        "zh": "未使用字段 {field}：{pack} 没有定义该字段",
        "en": "field '{field}' left out: {pack} does not define it",
    },
    # -- joining lists of names and fields
    "list.sep": {"zh": "、", "en": ", "},
}


def check_lang(lang: str) -> str:
    """`lang` if it is one of LANGS; InputError naming the allowed values otherwise."""
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r}; allowed: {', '.join(LANGS)}")
    return lang


def text(message_id: str, lang: str, *args: object, **kw: object) -> str:
    """The message `message_id` in `lang`, its placeholders filled."""
    return CATALOGUE[message_id][lang].format(*args, **kw)


def join(items: Iterable[str], lang: str) -> str:
    return CATALOGUE["list.sep"][lang].join(items)


def span(amount: int, unit: str, lang: str) -> str:
    """ "7 working days" / "7个工作日"; unit is a DSL unit (working_days, days, weeks, months, years)."""
    key = f"unit.{unit}.one" if amount == 1 else f"unit.{unit}"
    return text(key, lang, n=amount)


def negotiate(accept_language: str | None, default: str = DEFAULT_LANG) -> str:
    """The language of LANGS an HTTP `Accept-Language` header prefers most (RFC 9110 §12.5.4).

    >>> negotiate("zh-CN,zh;q=0.9,en;q=0.8")
    'zh'
    >>> negotiate("fr, en;q=0.5")
    'en'
    >>> negotiate(None)
    'en'
    """
    best, best_q = default, 0.0
    for part in (accept_language or "").split(",")[:50]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if primary == "*" and q > best_q:
            best_q = q  # any language: keep the default
            best = default
        elif primary in LANGS and q > best_q:
            best, best_q = primary, q
    return best
