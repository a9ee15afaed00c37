"""The analysts' studio: a local web page to read a pack against its notice, try cases, change a
rule and see its impact (`mtbrules studio`, extra `studio`; docs/studio.md).

Modules: `app` (routes and templates), `security` (token, Host, CSRF),
`workspace` (packs, drafts, safe saves), `notice` (source passages and
quotes), `caseform` (the case form), `calendarview`, `jobs` (impact runs),
`charts` (SVG), `i18n` (Chinese and English words).
"""
