"""HTTP, served by the worker: ingest (POST /v1/events), the read views, health and metrics,
the operator endpoints, erasure/purge/sealing (personal data), the OpenAPI document and the
JSON error responses."""

from streams.api.admin import Admin
from streams.api.ingest import MAX_BYTES, MAX_EVENTS, Ingest, parse_body
from streams.api.keys import LocalKeys
from streams.api.personal import PersonalData
from streams.api.supervisor import IngestProcess
from streams.api.views import Views

__all__ = [
    "MAX_BYTES",
    "MAX_EVENTS",
    "Admin",
    "Ingest",
    "IngestProcess",
    "LocalKeys",
    "PersonalData",
    "Views",
    "parse_body",
]
