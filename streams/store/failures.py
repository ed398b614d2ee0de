"""What a ClickHouse failure means for the sink: retry it, or refuse the rows that caused it.

A *data error* is the engine refusing values (a number it cannot parse, a value out of range,
a string too large): the same rows fail the same way every time, so retrying would stall the
pipeline; the projector isolates the offending events instead (docs/sink-protocol.md).
Everything else (no connection, a timeout, memory, too many parts, an unknown error) may pass,
so the sink retries it.

ClickHouse quotes the refused rows in its messages (elector ids, payloads with voting
intentions), so a driver error is *scrubbed* before it travels anywhere: only its type, code
and name are kept (docs/sink-protocol.md, "No personal data").
"""

from __future__ import annotations

import re

from streams.errors import SinkError

# ClickHouse error codes (src/Common/ErrorCodes.cpp) that mean "these values cannot be stored".
# tests/unit/store/test_failures.py checks each name against the engine's errorCodeToName.
DATA_ERRORS: dict[int, str] = {
    6: "CANNOT_PARSE_TEXT",
    25: "CANNOT_PARSE_ESCAPE_SEQUENCE",
    26: "CANNOT_PARSE_QUOTED_STRING",
    27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
    38: "CANNOT_PARSE_DATE",
    41: "CANNOT_PARSE_DATETIME",
    53: "TYPE_MISMATCH",
    69: "ARGUMENT_OUT_OF_BOUND",
    70: "CANNOT_CONVERT_TYPE",
    72: "CANNOT_PARSE_NUMBER",
    117: "INCORRECT_DATA",
    128: "TOO_LARGE_ARRAY_SIZE",
    130: "CANNOT_READ_ARRAY_FROM_TEXT",
    131: "TOO_LARGE_STRING_SIZE",
    321: "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    349: "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN",
    376: "CANNOT_PARSE_UUID",
    407: "DECIMAL_OVERFLOW",
    467: "CANNOT_PARSE_BOOL",
    469: "VIOLATED_CONSTRAINT",
    691: "UNKNOWN_ELEMENT_OF_ENUM",
}

_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,80}$")


class SinkDataError(SinkError):
    """ClickHouse refused the values of an insert: retrying cannot help, isolate the rows."""

    def __init__(self, message: str, table: str, code: int | None, name: str | None) -> None:
        super().__init__(message)
        self.table = table
        self.code = code
        self.name = name


def error_code(err: BaseException) -> tuple[int | None, str | None]:
    """The driver's ClickHouse error code and symbolic name, when it has them."""
    code = getattr(err, "code", None)
    name = getattr(err, "name", None)
    code = code if isinstance(code, int) else None
    name = name if isinstance(name, str) and _NAME.match(name) else None
    if code is not None and name is None:
        name = DATA_ERRORS.get(code)
    return code, name


def describe(err: BaseException) -> str:
    """The error as it may be logged: its type, code and name, never its text."""
    code, name = error_code(err)
    if code is None:
        return type(err).__name__
    return f"{type(err).__name__} code {code}" + (f" ({name})" if name else "")


def is_data_error(err: BaseException) -> bool:
    """ClickHouse refused values (see DATA_ERRORS); anything else may pass on a retry."""
    code, _ = error_code(err)
    return code in DATA_ERRORS


def scrub(err: BaseException) -> BaseException:
    """`err` with its text replaced by `describe(err)` and its own causes cut off: ClickHouse
    (and chDB beneath the driver) quote the refused rows, and a traceback prints every cause."""
    err.args = (describe(err),)
    err.__cause__ = None
    err.__context__ = None
    err.__suppress_context__ = True
    return err


def insert_error(table: str, err: BaseException) -> SinkError:
    """The SinkError for a failed insert into `table` (a SinkDataError for refused values),
    naming the table and the driver's code; `err` is scrubbed, to be chained with `from`."""
    code, name = error_code(err)
    what = describe(err)
    scrub(err)
    if code in DATA_ERRORS:
        message = f"ClickHouse refused rows of the {table} insert: {what}"
        return SinkDataError(message, table, code, name)
    return SinkError(f"ClickHouse insert into {table} failed: {what}")
