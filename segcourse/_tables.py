"""Markdown tables printed by the benchmarks (so a result can be pasted into a note as is).

A module of its own, importing nothing from the package, so that any module can print a table
without importing ``bench`` (which imports ``train``): no import cycle.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["table_header", "table_row", "print_table"]


def table_row(row: Sequence[object]) -> str:
    """One Markdown table row.

    Parameters
    ----------
    row : the cells, printed with ``str``.

    Returns
    -------
    str
        ``| a | b |``, without a newline.

    Examples
    --------
    >>> table_row([1, "x", 0.5])
    '| 1 | x | 0.5 |'
    """
    return "| " + " | ".join(map(str, row)) + " |"


def table_header(header: Sequence[object]) -> str:
    """The header row and the separator line of a Markdown table.

    Parameters
    ----------
    header : the column names.

    Returns
    -------
    str
        Two lines joined by a newline (no trailing newline).

    Examples
    --------
    >>> print(table_header(["a", "b"]))
    | a | b |
    |---|---|
    """
    return table_row(header) + "\n|" + "|".join("---" for _ in header) + "|"


def print_table(header: Sequence[object], rows: Sequence[Sequence[object]], flush: bool = False) -> None:
    """Print a Markdown table.

    Parameters
    ----------
    header : the column names.
    rows : one sequence of cells per row.
    flush : flush stdout after printing (for progress reports read while a run goes on).

    Examples
    --------
    >>> print_table(["a", "b"], [[1, "x"]])
    | a | b |
    |---|---|
    | 1 | x |
    """
    print(table_header(header))
    for row in rows:
        print(table_row(row))
    if flush:
        print(end="", flush=True)
