"""The macro and variable expansion restates the plugin's code (docs/grafana-macros.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboards.macros import (
    ALL,
    MacroError,
    QueryContext,
    Variable,
    apply_conditional_all,
    expand,
    interpolate_macros,
    replace_variables,
)

# The time range of the plugin's own macro tests (pkg/macros/macros_test.go).
FROM = datetime(2014, 11, 12, 11, 45, 26, 371000, tzinfo=UTC)
TO = datetime(2015, 11, 12, 11, 45, 26, 371000, tzinfo=UTC)
CTX = QueryContext(FROM, TO, interval=timedelta(seconds=20))
WARDS = Variable("ward", ["Abbey", "St Mary's"], ("Abbey", "Castle", "St Mary's"))
ALL_WARDS = Variable("ward", [ALL], ("Abbey", "Castle"))
ELECTION = Variable("election", "2026-05-07-x", ("2026-05-07-x",))


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [
        ("$__timeFilter(at)", "at >= toDateTime(1415792726) AND at <= toDateTime(1447328726)"),
        ("$__timeFilter_ms(at)",
         "at >= fromUnixTimestamp64Milli(1415792726371) AND at <= "
         "fromUnixTimestamp64Milli(1447328726371)"),
        ("x > $__fromTime", "x > toDateTime(1415792726)"),
        ("x < $__toTime", "x < toDateTime(1447328726)"),
        ("x > $__fromTime_ms", "x > fromUnixTimestamp64Milli(1415792726371)"),
        ("$__dateFilter(d)", "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')"),
        ("$__dt(d, t)",
         "(d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND "
         "(t >= toDateTime(1415792726) AND t <= toDateTime(1447328726))"),
        ("$__timeInterval(at)", "toStartOfInterval(toDateTime(at), INTERVAL 20 second)"),
        ("$__timeInterval_ms(at)",
         "toStartOfInterval(toDateTime64(at, 3), INTERVAL 20000 millisecond)"),
        ("INTERVAL $__interval_s second", "INTERVAL 20 second"),
        ("$__interval", "20s"),
        ("$__interval_ms", "20000"),
        ("$__timeFrom(at)", "at >= '2014-11-12T11:45:26Z'"),
    ],
)  # fmt: skip
def test_backend_macros_expand_as_the_plugin_does(sql: str, expanded: str):
    assert interpolate_macros(sql, CTX) == expanded


def test_interval_under_a_second_counts_as_one_second():
    ctx = QueryContext(FROM, TO, interval=timedelta(milliseconds=200))
    assert interpolate_macros("$__interval_s", ctx) == "1"


@pytest.mark.parametrize("sql", ["$__timeFilter(a, b)", "$__dt(a)", "$__timeInterval(a, b)"])
def test_wrong_argument_counts_are_refused(sql: str):
    with pytest.raises(MacroError, match="argument"):
        interpolate_macros(sql, CTX)


def test_empty_brackets_are_one_empty_argument():
    assert interpolate_macros("$__timeInterval()", CTX) == (
        "toStartOfInterval(toDateTime(), INTERVAL 20 second)"
    )


def test_commas_inside_nested_brackets_split_only_for_older_sqlutil():
    sql = "$__timeInterval(greatest(at, toDateTime(0)))"
    assert interpolate_macros(sql, CTX) == (
        "toStartOfInterval(toDateTime(greatest(at, toDateTime(0))), INTERVAL 20 second)"
    )
    with pytest.raises(MacroError, match="expected 1 argument, received 2"):
        interpolate_macros(sql, CTX, legacy=True)


def test_older_sqlutil_takes_a_later_bracket_as_arguments_unless_the_macro_is_bracketed():
    loose = "at >= $__fromTime AND ward IN ('a', 'b')"
    assert interpolate_macros(loose, CTX) == "at >= toDateTime(1415792726) AND ward IN ('a', 'b')"
    assert interpolate_macros(loose, CTX, legacy=True) == "at >= toDateTime(1415792726)"
    bracketed = "at >= ($__fromTime) AND ward IN ('a', 'b')"
    assert interpolate_macros(bracketed, CTX) == interpolate_macros(bracketed, CTX, legacy=True)


def test_conditional_all_becomes_true_when_all_is_selected():
    sql = "WHERE $__conditionalAll(ward IN (${ward:singlequote}), $ward) AND x = 1"
    assert apply_conditional_all(sql, {"ward": ALL_WARDS}) == "WHERE 1=1 AND x = 1"
    kept = apply_conditional_all(sql, {"ward": WARDS})
    assert kept == "WHERE ward IN (${ward:singlequote}) AND x = 1"


def test_conditional_all_accepts_braced_variables_and_handles_every_occurrence():
    sql = "$__conditionalAll(a IN ($ward), ${ward}) OR $__conditionalAll(b = 1, $age)"
    variables = {"ward": ALL_WARDS, "age": Variable("age", "")}
    assert apply_conditional_all(sql, variables) == "1=1 OR 1=1"


def test_conditional_all_keeps_the_condition_for_unknown_variables():
    assert apply_conditional_all("$__conditionalAll(x = 1, $nope)", {}) == "x = 1"


def test_conditional_all_with_one_argument_stops_expansion_like_the_plugin():
    sql = "$__conditionalAll(x = 1) AND $__conditionalAll(y = 2, $ward)"
    assert apply_conditional_all(sql, {"ward": ALL_WARDS}) == "$__conditionalAll(x = 1) AND 1=1"


def test_template_variables_use_the_plugins_format_unless_one_is_named():
    variables = {"ward": WARDS, "election": ELECTION}
    assert replace_variables("$election", variables) == "2026-05-07-x"
    assert replace_variables("($ward)", variables) == "('Abbey','St Mary's')"
    assert replace_variables("${ward:singlequote}", variables) == "'Abbey','St Mary\\'s'"
    assert replace_variables("${ward:sqlstring}", variables) == "'Abbey','St Mary''s'"
    assert replace_variables("[[election]]", variables) == "2026-05-07-x"
    assert replace_variables("${election:singlequote}", variables) == "'2026-05-07-x'"


def test_all_without_conditional_all_lists_every_option():
    assert replace_variables("${ward:singlequote}", {"ward": ALL_WARDS}) == "'Abbey','Castle'"
    custom = Variable("ward", [ALL], ("a",), all_value=".*")
    assert replace_variables("${ward:singlequote}", {"ward": custom}) == ".*"


def test_macros_and_unknown_names_are_left_for_the_backend():
    assert replace_variables("$__timeFilter(at) $__interval_s $other", {}) == (
        "$__timeFilter(at) $__interval_s $other"
    )


def test_unemulated_formats_are_refused():
    with pytest.raises(MacroError, match="regex"):
        replace_variables("${ward:regex}", {"ward": WARDS})


def test_expand_runs_the_browser_stage_then_the_backend_stage():
    sql = (
        "SELECT $__timeInterval(at) AS t FROM deltas WHERE election_id = ${election:singlequote}"
        " AND at <= ($__toTime) AND $__conditionalAll(ward IN (${ward:singlequote}), $ward)"
    )
    ctx = QueryContext(FROM, TO, timedelta(minutes=15), {"ward": WARDS, "election": ELECTION})
    assert expand(sql, ctx) == (
        "SELECT toStartOfInterval(toDateTime(at), INTERVAL 900 second) AS t FROM deltas "
        "WHERE election_id = '2026-05-07-x' AND at <= (toDateTime(1447328726)) "
        "AND ward IN ('Abbey','St Mary\\'s')"
    )
