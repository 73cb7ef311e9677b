"""Quoting for the few names and literals spliced into SQL text (values are passed as parameters)."""

from __future__ import annotations


def ident(name: str) -> str:
    """A double-quoted identifier: safe for any column name, including ones read from a file header."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A single-quoted string literal (DuckDB strings do not interpret backslashes)."""
    return "'" + value.replace("'", "''") + "'"


def raw_table(name: str) -> str:
    return f"raw.{ident(name)}"
