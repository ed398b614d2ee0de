"""Turnout: an event-sourced campaign analytics backend (Kafka -> Faust -> ClickHouse).

Rooms, each importing only those below it: `cli` (the `turnout` command) > `app` (the
composition root) > `api` (HTTP) > `worker` (agent, projector, replay) > `read` (query SQL),
`store` (ClickHouse, migrations, sink), `fold` (the pure rules), `events` (models,
validation, Kafka records) > `settings`, `errors`, `auth`, `metrics`. Beside the pipeline:
`sim` (simulator and its independent ground truth) and `grafana` (dashboards as code).

An event's way: POST /v1/events (api.ingest validates with events, produces to Kafka; or an
app produces straight to turnout.events) -> worker.agents -> worker.projector -> fold.state
and fold.rules -> store.sink -> ClickHouse tables -> read.queries/read.reader -> api.views,
and grafana.sql -> dashboards/*.json -> Grafana. docs/architecture.md says it at length.
"""

__version__ = "0.1.0"
