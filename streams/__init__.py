"""Turnout: an event-sourced campaign analytics backend (Kafka -> Faust -> ClickHouse)."""

__version__ = "0.1.0"
