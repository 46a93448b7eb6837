"""Loggers that import `logging` at their first message, not at import time.

A zone-file server logs nothing on its way to its first answer, yet
`logging` drags in traceback, tokenize, linecache, string and textwrap:
~4 ms and ~8M instructions of every `zonefront serve` start (the
first-answer figures in bench/RESULTS.md §9 "2026-12-06 (first)").  Modules
on that path name their logger here; each call goes to
`logging.getLogger(name)` as it is then, so handlers, levels and pytest's
caplog see the same logger as before.
"""
from __future__ import annotations


class LazyLogger:
    """Stands for `logging.getLogger(name)`: any attribute (warning, info,
    exception, isEnabledFor...) is the real logger's, fetched when used."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr: str):
        import logging

        return getattr(logging.getLogger(self.name), attr)

    def __repr__(self) -> str:
        return f"<LazyLogger {self.name}>"


def get_logger(name: str) -> LazyLogger:
    return LazyLogger(name)
