"""streams.store.failures: which ClickHouse errors are retried, which refuse rows, and that
what travels on (messages, tracebacks) never quotes a row."""

from __future__ import annotations

import traceback
from pathlib import Path

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from streams.errors import SinkError
from streams.store import SinkDataError, describe, is_data_error, private_dir, scrub
from streams.store.failures import insert_error

ROW_DUMP = 'Row 1: Column 1, name: elector_id, type: String, parsed text: "el-QQZX-7"'


def driver_error(code: int | None, name: str | None = None) -> DatabaseError:
    """A driver error as chDB raises it: ClickHouse's text (quoting the row) and a cause."""
    try:
        try:
            raise RuntimeError(ROW_DUMP)
        except RuntimeError as inner:
            raise DatabaseError(f"Code: {code}. DB::Exception: {ROW_DUMP}", code=code,
                                name=name) from inner  # fmt: skip
    except DatabaseError as err:
        return err


def printed(err: BaseException) -> str:
    return "".join(traceback.format_exception(err))


def test_a_refused_value_is_a_data_error_that_names_table_and_code_only():
    err = insert_error("electors", driver_error(41, "CANNOT_PARSE_DATETIME"))
    assert isinstance(err, SinkDataError)
    assert (err.table, err.code, err.name) == ("electors", 41, "CANNOT_PARSE_DATETIME")
    assert str(err) == (
        "ClickHouse refused rows of the electors insert: "
        "DatabaseError code 41 (CANNOT_PARSE_DATETIME)"
    )


def test_the_name_of_a_known_code_is_filled_in_when_the_driver_hides_it():
    assert describe(driver_error(407)) == "DatabaseError code 407 (DECIMAL_OVERFLOW)"


def test_unavailable_timeouts_and_unknown_codes_are_not_data_errors():
    for err in (
        OperationalError("Network Error: connection refused"),
        driver_error(159, "TIMEOUT_EXCEEDED"),
        driver_error(241, "MEMORY_LIMIT_EXCEEDED"),
        driver_error(252, "TOO_MANY_PARTS"),
        driver_error(None),
    ):
        assert not is_data_error(err)
        wrapped = insert_error("cells", err)
        assert type(wrapped) is SinkError
        assert str(wrapped).startswith("ClickHouse insert into cells failed: ")


def test_a_scrubbed_error_prints_no_row_even_in_a_chained_traceback():
    err = driver_error(27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED")
    wrapped: SinkError | None = None
    try:
        raise insert_error("events", err) from err
    except SinkError as raised:
        wrapped = raised
    text = printed(wrapped)
    assert "QQZX" not in text and "elector_id" not in text
    assert "code 27 (CANNOT_PARSE_INPUT_ASSERTION_FAILED)" in text
    assert isinstance(wrapped.__cause__, DatabaseError) and wrapped.__cause__.code == 27


def test_scrub_keeps_no_name_that_is_not_a_clickhouse_error_name():
    err = driver_error(6, "el-QQZX-7 (VOTES LAB)")
    assert describe(scrub(err)) == "DatabaseError code 6 (CANNOT_PARSE_TEXT)"


def test_private_dir_creates_and_tightens_folders_to_this_user(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    private_dir(home / "clickhouse" / "data")
    for folder in (home / "clickhouse", home / "clickhouse" / "data"):
        assert folder.stat().st_mode & 0o777 == 0o700
    private_dir(home)
    assert home.stat().st_mode & 0o777 == 0o700
