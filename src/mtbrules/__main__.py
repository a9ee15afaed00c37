"""`python -m mtbrules` runs the command line."""

from .cli import entry

entry()
