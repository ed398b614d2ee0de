"""What Grafana and its ClickHouse plugin do to a panel's SQL before ClickHouse sees it.

A Python re-statement of the plugin's own code, so tests can run every panel query against a
real engine exactly as Grafana would send it (docs/grafana-macros.md lists each rule and the
source it restates). Two stages, in the plugin's order:

1. In the browser (`Datasource.applyTemplateVariables`, src/data/CHDatasource.ts):
   `$__conditionalAll(cond, $var)` is resolved first (`1=1` when `$var` is All or empty),
   then Grafana's template service replaces `$var`, `${var}`, `${var:format}` and
   `[[var]]`, formatting multi-values with the plugin's `format` (`'a','b'`) unless the
   reference names a format.
2. In the plugin backend (`sqlutil.Interpolate` from grafana-plugin-sdk-go with the plugin's
   `pkg/macros` table): `$__timeFilter(col)`, `$__fromTime`, `$__timeInterval(col)`, ...
   `legacy=True` applies the older argument scan that sqlds wrote (and the SDK's sqlutil
   carried until `parseArgs`), which took the next bracketed text after an argument-less
   macro as its arguments.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ALL = "$__all"


class MacroError(ValueError):
    """A macro the plugin would refuse (wrong argument count, unknown format, no bracket)."""


@dataclass(frozen=True)
class Variable:
    """A dashboard variable's current selection (`ALL`, a value, or a list of values)."""

    name: str
    current: str | list[str]
    options: tuple[str, ...] = ()  # the values "All" stands for
    all_value: str | None = None  # the variable's custom all value, if any

    @property
    def is_all(self) -> bool:
        values = self.current if isinstance(self.current, list) else [self.current]
        return ALL in values


@dataclass(frozen=True)
class QueryContext:
    """What Grafana sends with a query: the time range, the interval, the variables."""

    time_from: datetime
    time_to: datetime
    interval: timedelta = timedelta(minutes=1)
    variables: Mapping[str, Variable] = field(default_factory=dict)


# -- stage 1: the browser -----------------------------------------------------------------
_CONDITIONAL_ALL = "$__conditionalAll("
_VAR_IN_ARG = re.compile(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+", re.ASCII)
# Grafana's variableRegex (public/app/features/variables/utils.ts).
_TEMPLATE_VAR = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}", re.ASCII
)


def _macro_args(query: str, args_index: int) -> list[str]:
    """The plugin's `getMacroArgs`: split the bracket at `args_index` on top-level commas."""
    args: list[str] = []
    depth = 0
    last = 1
    sub = query[args_index:]
    for match in re.finditer(r"[(),]", sub):
        node, end = match.group(), match.end()
        if node == "(":
            depth += 1
        elif node == ")":
            depth -= 1
        if node == "," and depth == 1:
            args.append(sub[last : end - 1])
            last = end
        if depth == 0:
            args.append(sub[last : end - 1])
            return args
    return []


def _js_replace_first(text: str, needle: str, replacement: str) -> str:
    """`String.prototype.replace(string, string)`, with its `$&`, `$$`, `` $` ``, `$'`."""
    at = text.find(needle)
    if at < 0:
        return text
    before, after = text[:at], text[at + len(needle) :]
    specials = {"$$": "$", "$&": needle, "$`": before, "$'": after}
    expanded = re.sub(r"\$[$&`']", lambda m: specials[m.group()], replacement)
    return before + expanded + after


def _js_string(value: str | list[str]) -> str:
    return ",".join(value) if isinstance(value, list) else value


def apply_conditional_all(raw_sql: str, variables: Mapping[str, Variable]) -> str:
    """The plugin's `applyConditionalAll`, last occurrence first, as the plugin loops."""
    at = raw_sql.rfind(_CONDITIONAL_ALL)
    while at != -1:
        params = _macro_args(raw_sql, at + len(_CONDITIONAL_ALL) - 1)
        if len(params) != 2:
            return raw_sql
        phrase = params[0]
        name = _VAR_IN_ARG.search(params[1].strip())
        if name:
            variable = variables.get(name.group())
            value = None if variable is None else _js_string(variable.current)
            if value in ("", ALL):
                phrase = "1=1"
        raw_sql = _js_replace_first(raw_sql, f"{_CONDITIONAL_ALL}{params[0]},{params[1]})", phrase)
        at = raw_sql.rfind(_CONDITIONAL_ALL)
    return raw_sql


def plugin_format(value: str | list[str]) -> str:
    """The plugin's default `format` for template variables without an explicit format."""
    return "'" + "','".join(value) + "'" if isinstance(value, list) else value


def _single_quote(value: str | list[str]) -> str:
    def quote(v: str) -> str:
        return "'" + v.replace("'", "\\'") + "'"

    return ",".join(quote(v) for v in value) if isinstance(value, list) else quote(value)


def _sql_string(value: str | list[str]) -> str:
    def quote(v: str) -> str:
        return "'" + v.replace("'", "''") + "'"

    return ",".join(quote(v) for v in value) if isinstance(value, list) else quote(value)


FORMATS: dict[str, Callable[[str | list[str]], str]] = {
    "singlequote": _single_quote,
    "sqlstring": _sql_string,
    "csv": _js_string,
    "raw": _js_string,
}


def _value_of(variable: Variable) -> str | list[str]:
    if variable.is_all:
        return variable.all_value if variable.all_value is not None else list(variable.options)
    return variable.current


def replace_variables(sql: str, variables: Mapping[str, Variable]) -> str:
    """Grafana's `templateSrv.replace(sql, scopedVars, datasource.format)`."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        variable = variables.get(name)
        if variable is None:
            return match.group(0)  # not a dashboard variable ($__timeFilter...): left alone
        value = _value_of(variable)
        if variable.is_all and variable.all_value is not None:
            return variable.all_value  # Grafana inserts a custom all value unformatted
        if fmt is None:
            return plugin_format(value)
        if fmt not in FORMATS:
            raise MacroError(f"${{{name}:{fmt}}}: format {fmt!r} is not emulated here")
        return FORMATS[fmt](value)

    return _TEMPLATE_VAR.sub(substitute, sql)


def apply_template_variables(raw_sql: str, variables: Mapping[str, Variable]) -> str:
    """Stage 1 (browser), in the order of the plugin's `applyTemplateVariables`."""
    return replace_variables(apply_conditional_all(raw_sql, variables), variables)


# -- stage 2: the plugin backend ------------------------------------------------------------
def _seconds(t: datetime) -> int:
    return math.floor(t.timestamp())


def _millis(t: datetime) -> int:
    return math.floor(t.timestamp() * 1000)


def _date(t: datetime) -> str:
    return f"toDate('{t.astimezone(UTC):%Y-%m-%d}')"


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one(name: str, args: list[str]) -> str:
    if len(args) != 1:
        raise MacroError(f"$__{name}: expected 1 argument, received {len(args)}")
    return args[0]


def _format_interval(interval: timedelta) -> str:
    """gtime.FormatInterval: the largest whole unit."""
    ms = int(interval / timedelta(milliseconds=1))
    for unit, size in (("y", 31_536_000_000), ("d", 86_400_000), ("h", 3_600_000),
                       ("m", 60_000), ("s", 1000), ("ms", 1)):  # fmt: skip
        if ms >= size:
            return f"{ms // size}{unit}"
    return "1ms"


Macro = Callable[[QueryContext, list[str]], str]


def _time_filter(ctx: QueryContext, args: list[str]) -> str:
    col = _one("timeFilter", args)
    f, t = _seconds(ctx.time_from), _seconds(ctx.time_to)
    return f"{col} >= toDateTime({f}) AND {col} <= toDateTime({t})"


def _time_filter_ms(ctx: QueryContext, args: list[str]) -> str:
    col = _one("timeFilter_ms", args)
    f, t = _millis(ctx.time_from), _millis(ctx.time_to)
    return f"{col} >= fromUnixTimestamp64Milli({f}) AND {col} <= fromUnixTimestamp64Milli({t})"


def _date_filter(ctx: QueryContext, args: list[str]) -> str:
    col = _one("dateFilter", args)
    return f"{col} >= {_date(ctx.time_from)} AND {col} <= {_date(ctx.time_to)}"


def _date_time_filter(ctx: QueryContext, args: list[str]) -> str:
    if len(args) != 2:
        raise MacroError(f"$__dateTimeFilter: expected 2 arguments, received {len(args)}")
    d, c = args
    f, t = ctx.time_from, ctx.time_to
    return (
        f"({d} >= {_date(f)} AND {d} <= {_date(t)}) AND "
        f"({c} >= toDateTime({_seconds(f)}) AND {c} <= toDateTime({_seconds(t)}))"
    )


def _interval_seconds(ctx: QueryContext) -> int:
    return int(max(ctx.interval.total_seconds(), 1))


def _time_interval(ctx: QueryContext, args: list[str]) -> str:
    col = _one("timeInterval", args)
    return f"toStartOfInterval(toDateTime({col}), INTERVAL {_interval_seconds(ctx)} second)"


def _time_interval_ms(ctx: QueryContext, args: list[str]) -> str:
    col = _one("timeInterval_ms", args)
    ms = int(max(ctx.interval / timedelta(milliseconds=1), 1))
    return f"toStartOfInterval(toDateTime64({col}, 3), INTERVAL {ms} millisecond)"


def _time_group(ctx: QueryContext, args: list[str]) -> str:
    if len(args) != 2:
        raise MacroError(f"$__timeGroup: expected 2 arguments, received {len(args)}")
    col, period = args
    parts = ("minute", "hour", "day", "month", "year")
    if period not in parts:
        return ""
    chosen = parts[parts.index(period) :]
    return ",".join(f"datepart({p}, {col})" for p in chosen)


# The plugin's pkg/macros table, over sqlutil's defaults (the plugin's entries win).
PLUGIN_MACROS: dict[str, Macro] = {
    "fromTime": lambda ctx, _: f"toDateTime({_seconds(ctx.time_from)})",
    "toTime": lambda ctx, _: f"toDateTime({_seconds(ctx.time_to)})",
    "fromTime_ms": lambda ctx, _: f"fromUnixTimestamp64Milli({_millis(ctx.time_from)})",
    "toTime_ms": lambda ctx, _: f"fromUnixTimestamp64Milli({_millis(ctx.time_to)})",
    "timeFilter": _time_filter,
    "timeFilter_ms": _time_filter_ms,
    "dateFilter": _date_filter,
    "dateTimeFilter": _date_time_filter,
    "dt": _date_time_filter,
    "timeInterval": _time_interval,
    "timeInterval_ms": _time_interval_ms,
    "interval_s": lambda ctx, _: str(_interval_seconds(ctx)),
}
SQLUTIL_DEFAULTS: dict[str, Macro] = {
    "interval": lambda ctx, _: _format_interval(ctx.interval),
    "interval_ms": lambda ctx, _: str(int(ctx.interval / timedelta(milliseconds=1))),
    "timeFilter": lambda ctx, a: (
        f"{_one('timeFilter', a)} >= '{_rfc3339(ctx.time_from)}' AND "
        f"{a[0]} <= '{_rfc3339(ctx.time_to)}'"
    ),
    "timeFrom": lambda ctx, a: f"{_one('timeFrom', a)} >= '{_rfc3339(ctx.time_from)}'",
    "timeTo": lambda ctx, a: f"{_one('timeTo', a)} <= '{_rfc3339(ctx.time_to)}'",
    "timeGroup": _time_group,
    "table": lambda ctx, _: "",
    "column": lambda ctx, _: "",
}
# Older sqlutil had no interval defaults.
LEGACY_DEFAULTS = {k: v for k, v in SQLUTIL_DEFAULTS.items() if not k.startswith("interval")}


def _parse_args(text: str) -> tuple[list[str], int]:
    """sqlutil `parseArgs`: a bracket right after the name, commas split at depth 1."""
    if not text.startswith("("):
        return [], 0
    args: list[str] = []
    depth = 0
    arg: list[str] = []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(arg).strip())
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append("".join(arg).strip())
            arg = []
            continue
        arg.append(ch)
    raise MacroError("failed to parse macro arguments (missing close bracket?)")


def _matches(sql: str, name: str) -> list[tuple[str, list[str]]]:
    found = []
    for m in re.finditer(rf"\$__{re.escape(name)}\b", sql, re.ASCII):
        args, length = _parse_args(sql[m.end() :])
        found.append((sql[m.start() : m.end() + length], args))
    return found


def _legacy_matches(sql: str, name: str) -> list[tuple[str, list[str]]]:
    """The old scan: from the name, the first bracket pair anywhere after it is its args."""
    found = []
    for m in re.finditer(rf"\$__{re.escape(name)}\b", sql, re.ASCII):
        rest = sql[m.start() :]
        depth, arg_start, end = 0, 0, 0
        for i, ch in enumerate(rest):
            if depth == 0 and end > 0:
                break
            if ch == "(":
                depth += 1
                arg_start = arg_start or i + 1
            elif ch == ")":
                if depth == 0:
                    end = 0
                    break
                depth -= 1
                end = i + 1
        if end == 0:
            end = m.end() - m.start()
        args_text = rest[arg_start : end - 1] if arg_start else ""
        found.append((rest[:end], [a.strip() for a in args_text.split(",")]))
    return found


def interpolate_macros(sql: str, ctx: QueryContext, legacy: bool = False) -> str:
    """sqlutil.Interpolate with the plugin's macros: longest names first, every match replaced."""
    macros = {**(LEGACY_DEFAULTS if legacy else SQLUTIL_DEFAULTS), **PLUGIN_MACROS}
    # Go's sort is not stable; names of equal length never overlap, so their order is moot.
    for name in sorted(macros, key=lambda n: (-len(n), n)):
        for full, args in (_legacy_matches if legacy else _matches)(sql, name):
            sql = sql.replace(full, macros[name](ctx, args))
    return sql


def expand(raw_sql: str, ctx: QueryContext, legacy: bool = False) -> str:
    """A panel's SQL as ClickHouse receives it: browser stage, then backend stage."""
    return interpolate_macros(apply_template_variables(raw_sql, ctx.variables), ctx, legacy)
