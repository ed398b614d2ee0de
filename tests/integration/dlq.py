"""Reading dead letters back from turnout.events.dlq (by offsets, so tests see only theirs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from kafka import KafkaConsumer, TopicPartition

from streams.settings import DLQ_TOPIC, Settings


class DeadLetters:
    """Marks the DLQ's end offsets; `since()` returns what was dead-lettered after the mark."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False
        )
        parts = self.consumer.partitions_for_topic(DLQ_TOPIC) or set()
        self.partitions = [TopicPartition(DLQ_TOPIC, p) for p in sorted(parts)]
        self.consumer.assign(self.partitions)
        self.mark = self.consumer.end_offsets(self.partitions)

    def since(
        self,
        expected: int,
        timeout_ms: int = 15_000,
        match: Callable[[dict[str, Any]], bool] = lambda letter: True,
    ) -> list[dict[str, Any]]:
        """At least `expected` matching dead letters written after the mark (fewer on timeout).

        Other tests' letters can arrive meanwhile (a restarted worker re-dead-letters what it
        re-reads), so callers match on what is theirs.
        """
        for tp in self.partitions:
            self.consumer.seek(tp, self.mark[tp])
        found: list[dict[str, Any]] = []
        polls = max(1, timeout_ms // 200)
        for _ in range(polls):
            for records in self.consumer.poll(timeout_ms=200).values():
                letters = (msgspec.json.decode(r.value) | {"_offset": r.offset} for r in records)
                found.extend(letter for letter in letters if match(letter))
            if len(found) >= expected:
                break
        return found

    def close(self) -> None:
        self.consumer.close()
