"""`mtbrules compile PACK`: the generated code, readable, with the pack's literals only as data."""

from __future__ import annotations

import linecache

import pytest

import mtbrules
from mtbrules.cli import main


def test_shows_every_service(capsys):
    assert main(["compile", "qingdao"]) == 0
    out = capsys.readouterr().out
    pack = mtbrules.load_pack("qingdao")
    for service in pack.services:
        assert f"# qingdao · {service}\n" in out
    assert "def decide(case, values, diseases," in out


def test_literals_are_listed_as_data_not_code(capsys):
    assert main(["compile", "qingdao", "--service", "certificate"]) == 0
    out = capsys.readouterr().out
    code, _, constants = out.partition("# constants (data of the namespace, not code):")
    assert "group_a" not in code and "市南区" not in code
    assert "group_a" in constants


def test_unknown_service_is_invalid_input(capsys):
    assert main(["compile", "qingdao", "--service", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no service 'nope'" in err and "certificate" in err


def test_generated_source_is_registered_for_tracebacks():
    pack = mtbrules.load_pack("qingdao")
    source = pack.prepared.generated_source("certificate")
    assert source is not None
    lines = linecache.getlines("<mtbrules decision qingdao:certificate>")
    assert lines and lines[0].startswith("def decide(")


@pytest.mark.parametrize("pack_id", mtbrules.builtin_packs())
def test_every_builtin_pack_compiles_to_generated_code(pack_id):
    pack = mtbrules.load_pack(pack_id)
    for service in pack.services:
        assert pack.prepared.generated_source(service) is not None
