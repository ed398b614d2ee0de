"""Lists of values for `IN`, in the form and the sizes that stay fast on chDB and a server.

`x IN {xs:Array(String)}` with a large constant array runs for minutes in chDB 26.x: on a
million keys, 14,000 ids of 65 characters took 0.12 s and 17,000 over 40 s; 66,000 ids of 7
characters 0.25 s and 80,000 over 5 minutes; 5,000 (election, elector) tuples 0.1 s and 20,000
over 30 s. That stalled the worker's key read at 700,000 electors (issue 11, README). The same
values as a subquery, `x IN (SELECT arrayJoin({xs:Array(String)}))`, build a hash set every
time: 100,000 ids in 0.8 s, 20,000 tuples in 0.3 s. A server also bounds a parameter's size
(it travels in the URL: `http_max_uri_size`, 1 MiB), so lists go in chunks of `CHUNK` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T", bound=Any)

CHUNK = 5_000  # values per query: ids up to 64 characters stay well under 1 MiB


def in_list(column: str, parameter: str, element: str) -> str:
    """`column IN (SELECT arrayJoin({parameter:Array(element)}))`."""
    return f"{column} IN (SELECT arrayJoin({{{parameter}:Array({element})}}))"


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """The distinct `values`, sorted, in lists of at most `size`."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
