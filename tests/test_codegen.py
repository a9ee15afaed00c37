"""Generated condition functions agree with the compiled closures, on every built-in pack."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mtbrules
from mtbrules import nodes as n

_SIMPLE = {
    "bool": st.booleans(),
    "int": st.integers(-1, 120),
    "number": st.floats(0, 10, allow_nan=False),
    "date": st.dates(dt.date(2020, 1, 1), dt.date(2026, 6, 30)),
}


def _strings(pack, rule_nodes):
    # The strings the rules compare with, plus one that matches nothing.
    found = {"其他"}
    for node in rule_nodes:
        for sub in n.walk(node):
            if isinstance(sub, n.Literal) and isinstance(sub.value, str):
                found.add(sub.value)
    return sorted(found)


def _env_strategy(pack):
    nodes = [r.when.node for r in pack.rules if r.when is not None]
    strings = st.sampled_from(_strings(pack, nodes))
    fields = {}
    for name, type_ in pack.scope.fields.items():
        if name in ("diseases", "materials"):
            continue
        if type_.name == "string":
            fields[name] = strings
        elif type_.name == "list":
            fields[name] = st.lists(strings, max_size=2).map(tuple)
        else:
            fields[name] = _SIMPLE[type_.name]
    for obj, sub in pack.scope.objects.items():
        for name, type_ in sub.items():
            fields[f"{obj}.{name}"] = strings if type_.name == "string" else _SIMPLE[type_.name]
    diseases = list(pack.diseases.values())
    return st.fixed_dictionaries(
        {
            "diseases": st.lists(st.sampled_from(diseases), max_size=3).map(tuple)
            if diseases
            else st.just(()),
            "materials": st.frozensets(st.sampled_from(sorted(pack.documents)), max_size=4)
            if pack.documents
            else st.just(frozenset()),
        },
        optional=fields,
    )


@pytest.mark.parametrize("pack_id", mtbrules.builtin_packs())
def test_generated_code_agrees_with_closures(pack_id):
    """For any environment, the generated function and the closures give the same result for every rule."""
    pack = mtbrules.load_pack(pack_id)

    @settings(max_examples=300, deadline=None)
    @given(_env_strategy(pack), st.sampled_from(sorted(pack.services)))
    def check(env, service):
        version = pack.versions[0].id
        rules = pack.rules_by_service[service]
        try:
            fast = pack.condition_runners[service](dict(env), version)
        except mtbrules.MtbError:
            return
        for rule, got in zip(rules, fast):
            if rule.versions is not None and version not in rule.versions:
                assert got is None
                continue
            want = True if rule.when is None else rule.when.fn(dict(env))
            assert got is want or (got == want and type(got) is type(want)), (rule.id, got, want)

    check()


def test_generated_source_holds_no_pack_text():
    """No literal of a pack reaches the generated source: literals travel through the namespace."""
    pack = mtbrules.load_pack("qingdao")
    source = pack.condition_runners["certificate"].source
    assert "市南区" not in source and "group_a" not in source
    assert "import" not in source and "__" not in source


def test_uncompilable_source_falls_back_to_closures(monkeypatch):
    """If CPython cannot compile the generated source, the rules' closures give the results."""
    import builtins

    from mtbrules import codegen

    pack = mtbrules.load_pack("qingdao")
    rules = pack.rules_by_service["certificate"]
    real_compile = builtins.compile

    def refuse(source, filename, mode, *args, **kwargs):
        if filename.startswith("<mtbrules conditions"):
            raise RecursionError("too deep")
        return real_compile(source, filename, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", refuse)
    run = codegen.build_runner("test", rules, pack.calendar)
    assert run.source is None
    env = {
        "diseases": (pack.diseases["malignant_tumor"],),
        "materials": frozenset(),
        "first_application": True,
    }
    monkeypatch.undo()
    assert run(dict(env), "2020-11") == pack.condition_runners["certificate"](dict(env), "2020-11")
