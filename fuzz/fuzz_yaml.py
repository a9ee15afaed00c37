"""atheris: bytes → YAML reader (as a file on disk, so the UTF-8 and size checks run too)."""

from __future__ import annotations

import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import _common  # noqa: F401

    from mtbrules._yaml import load_yaml
    from mtbrules.errors import MtbError

_TMP = tempfile.NamedTemporaryFile(suffix=".yaml", delete=False)


def TestOneInput(data: bytes) -> None:
    with open(_TMP.name, "wb") as fh:
        fh.write(data)
    try:
        load_yaml(_TMP.name)
    except MtbError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
