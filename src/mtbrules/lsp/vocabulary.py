"""What the names of the condition language mean, for hover and completion.

Field meanings are CONTRACT.md §2's; functions and units are docs/dsl.md's. A test
keeps these tables in step with the case fields and functions the compiler knows.
"""

from __future__ import annotations

from ..case import CASE_FIELDS, CASE_OBJECTS, CHANNEL_KINDS, CONTRACT_SERVICES, RELATIONS, SCHEMES
from ..compiler import Type

#: Contract case fields (CONTRACT.md §2).
FIELD_MEANINGS = {
    "service": "what is applied for: certificate, renewal, change_hospital, special_drug, "
    "transfer_hospitalization, offsite_filing, reimbursement, or a service of the pack",
    "submitted_on": "the day the application is made",
    "scheme": "employee (职工医保) or resident (城乡居民医保)",
    "retired": "retired (退休)",
    "age": "age in years on `submitted_on`",
    "diseases": "the case's diseases, each matched to the pack's catalogue "
    "(fields `id`, `name`, `no`, `groups`)",
    "category": "a pack-defined category: a filing category or a disease class (its id)",
    "first_application": "never held this benefit before",
    "hospitalized": "the diagnosis was confirmed during an inpatient stay",
    "hospital_level": "level (1–3) of the hospital that confirmed the diagnosis",
    "outpatient_years": "years of continuous systematic outpatient treatment",
    "district": "district or county of the applicant, in Chinese (市南区, 平度市, 义县…)",
    "channel": "window, app, hospital, phone or online",
    "agent": "someone else applies on the patient's behalf (代办); false when not given",
    "materials": "ids of the documents the case provides (after matching names, aliases "
    "and alternatives); [] when not given",
    "in_catalog": "the disease or treatment is in the pack's referral / emergency catalogue",
    "admitted_on": "day of admission, for hospital stays (emergency filing)",
    "discharged_on": "day of discharge, for hospital stays (emergency filing)",
    "offsite.settled": "settled off-site (异地定居/安置)",
    "offsite.hukou_moved": "household registration moved off-site",
    "offsite.owns_property": "owns property off-site",
    "offsite.residence_permit": "holds a residence permit off-site",
    "offsite.relation": "relation to the person off-site: spouse, child, child_spouse, guardian",
    "offsite.dispatched_months": "months dispatched to work off-site",
    "offsite.working_offsite": "works off-site",
    "offsite.cross_province": "the off-site place is in another province",
    "prior.issued_on": "day an earlier certificate was issued",
    "prior.valid_until": "last day an earlier certificate is valid",
    "prior.changes_this_year": "changes of designated hospital already made this calendar year",
}
#: Fields of a disease value (`any d in diseases: …`).
DISEASE_FIELD_MEANINGS = {
    "id": "the disease's id in diseases.yaml",
    "name": "the disease's name",
    "no": "the notice's own number for the disease",
    "groups": "ids of the disease groups it belongs to",
}

#: Functions: signature and meaning (docs/dsl.md).
FUNCTIONS = {
    "date": ("date(y, m, d) -> date", "the date"),
    "year": ("year(d) -> int", "the year of d"),
    "month": ("month(d) -> int", "the month of d (1–12)"),
    "day": ("day(d) -> int", "the day of the month of d"),
    "quarter": ("quarter(d) -> int", "the quarter of d (1–4)"),
    "start_of_month": ("start_of_month(d) -> date", "the first day of d's month"),
    "end_of_month": ("end_of_month(d) -> date", "the last day of d's month"),
    "start_of_quarter": ("start_of_quarter(d) -> date", "the first day of d's quarter"),
    "end_of_quarter": ("end_of_quarter(d) -> date", "the last day of d's quarter"),
    "start_of_year": ("start_of_year(d) -> date", "1 January of d's year"),
    "end_of_year": ("end_of_year(d) -> date", "31 December of d's year"),
    "start_of_next_month": ("start_of_next_month(d) -> date", "the first day of the next month"),
    "start_of_next_quarter": (
        "start_of_next_quarter(d) -> date",
        "the first day of the next quarter",
    ),
    "start_of_next_year": ("start_of_next_year(d) -> date", "1 January of the next year"),
    "day_of_month": ("day_of_month(d, n) -> date", "the n-th calendar day of d's month"),
    "nth_working_day": (
        "nth_working_day(d, n) -> date",
        "the n-th working day of d's month, on the official calendar",
    ),
    "is_working_day": ("is_working_day(d) -> bool", "d is a working day on the official calendar"),
    "natural_years_end": (
        "natural_years_end(d, n) -> date",
        (
            "31 December of the n-th natural year starting with d's year "
            "(两个自然年度: natural_years_end(d, 2))"
        ),
    ),
    "min": ("min(a, b)", "the smaller of two numbers or dates"),
    "max": ("max(a, b)", "the larger of two numbers or dates"),
    "len": ("len(list) -> int", "the number of items"),
    "defined": ("defined(field) -> bool", "the case gives this field"),
}

#: How each duration unit counts (CONTRACT.md §4, docs/dsl.md "Day counting").
UNITS = {
    "working_days": "working days on China's official calendar: `d + N working_days` is the "
    "N-th working day after d (the day of the act is not counted); public holidays are off "
    "and make-up working days (调休) are on",
    "days": "calendar days: `d + N days` is the N-th day after d",
    "weeks": "weeks of 7 calendar days",
    "months": "calendar months, keeping the day of the month, clamped to the month's end "
    "(2024-01-31 + 1 month is 2024-02-29)",
    "years": "calendar years, keeping the day, clamped to the month's end (29 February)",
}
#: Words of the language, offered by completion.
KEYWORDS = ("and", "or", "not", "in", "if", "then", "else", "any", "all", "true", "false")

_FIXED_VALUES = {
    "scheme": SCHEMES,
    "channel": CHANNEL_KINDS,
    "relation": RELATIONS,
    "service": CONTRACT_SERVICES,
}


def unit_of(text: str) -> str:
    """The canonical unit of a unit word: `working_day` -> `working_days`."""
    return text if text.endswith("s") else text + "s"


def field_type(name: str, pack_fields: dict) -> Type | None:
    if name in CASE_FIELDS:
        return CASE_FIELDS[name]
    owner, _, sub = name.partition(".")
    if sub and owner in CASE_OBJECTS:
        return CASE_OBJECTS[owner].get(sub)
    return None


def fixed_values(vocab: str | None) -> tuple[str, ...]:
    """The contract's own values of a vocabulary (scheme, channel kinds, relations)."""
    return tuple(_FIXED_VALUES.get(vocab or "", ()))
