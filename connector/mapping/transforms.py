"""The transform library: small named steps that turn a Revont value into a CRM value.

In a mapping a field's ``transforms`` is a chain; each entry is a name
(``"lower"``) or a one-key table giving the transform its argument
(``{ truncate = 255 }``, ``{ map = "dispositions" }``). Every transform
declares what it accepts and returns, so a chain that cannot work
(``duration_seconds`` through ``lower``) is refused when the mapping loads.
A transform given None returns None, except those that say otherwise
(``first_name`` gives the placeholder, ``map`` its default).

Users add transforms without forking: a function decorated with
:func:`transform`, registered in the ``revont_sync.transforms`` entry-point
group, is found by name. A built-in name cannot be replaced.

Built-in transforms (see ``docs/mappings.md`` for examples):

=================== ==================== ==============================================
name                argument             does
=================== ==================== ==============================================
epoch_ms            -                    ISO time or date -> milliseconds since the epoch
date                time zone (opt.)     ISO time -> ``YYYY-MM-DD`` in the zone
to_timezone         time zone (opt.)     ISO time -> ISO time in the zone
seconds_to_ms       -                    seconds -> milliseconds (integer)
truncate            max or table         at most ``max`` characters, whole graphemes,
                                         at a ``char``/``word``/``sentence`` boundary
                                         (:mod:`.text`), with a ``marker`` counted in
                                         the limit
html_escape         -                    ``<``, ``>``, ``&``, quotes -> entities
strip, lower, upper -                    as in Python
first_name          placeholder (opt.)   "Ana María López" -> "Ana María"
last_name           placeholder (opt.)   "Ana María López" -> "López"
map                 map name or table    value -> mapped value; ``default`` key for misses
email               ``error``/``null``   trimmed, lower-cased; what to do if invalid
transcript_text     ``timestamps`` (opt) transcript segments -> "Speaker: text" lines
action_items_text   -                    action items -> "- [x] text (due YYYY-MM-DD)"
join                separator            list -> text
to_string           -                    any value -> text
to_int              -                    number -> nearest whole number
=================== ==================== ==============================================
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import entry_points
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex

from connector.mapping.paths import ANY, DATE, LIST, NUMBER, STR, TIME
from connector.mapping.text import truncate_text

TRANSFORM_ENTRY_POINT_GROUP = "revont_sync.transforms"

Apply = Callable[[Any], Any]


class TransformError(ValueError):
    """A transform could not handle one record's value (the record fails, alone)."""


class TransformConfigError(ValueError):
    """A transform was given an argument it cannot use (the mapping fails to load)."""


@dataclass(frozen=True)
class MappingOptions:
    """Mapping-wide settings transforms may consult (the ``[options]`` table)."""

    timezone: str = "UTC"
    name_placeholder: str = "Unknown"
    truncation_marker: str = "…"
    maps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Transform:
    """A named transform: ``build(argument, options)`` returns the function applied per value.

    ``accepts`` lists the value types it takes (``any`` for all); ``returns`` is
    the type it produces. ``handles_none`` means it is called with None too.
    """

    name: str
    build: Callable[[Any, MappingOptions], Apply]
    accepts: tuple[str, ...] = (ANY,)
    returns: str = ANY
    handles_none: bool = False
    doc: str = ""


def transform(
    name: str,
    *,
    accepts: tuple[str, ...] = (ANY,),
    returns: str = ANY,
    handles_none: bool = False,
) -> Callable[[Callable[[Any, MappingOptions], Apply]], Transform]:
    """Declare a transform. Decorate a builder ``(argument, options) -> (value -> value)``.

    ``accepts`` names the value types the transform takes (``str``, ``number``,
    ``bool``, ``time``, ``date``, ``list``, ``object`` or ``any``; times and dates
    are also text); ``returns`` the type it produces.
    """

    def wrap(build: Callable[[Any, MappingOptions], Apply]) -> Transform:
        return Transform(name, build, accepts, returns, handles_none, (build.__doc__ or "").strip())

    return wrap


def accepts(spec: Transform, kind: str) -> bool:
    """Can ``spec`` take a value of type ``kind``? Unknown types (``any``) always pass."""
    return (
        ANY in spec.accepts
        or kind == ANY
        or kind in spec.accepts
        or (kind in (TIME, DATE) and STR in spec.accepts)
    )


class TruncatedStr(str):
    """A string that ``truncate`` shortened; the engine reports it, then uses it as text."""

    __slots__ = ()


def no_argument(name: str, arg: Any) -> None:
    """Refuse an argument to a transform that takes none (it would be silently ignored)."""
    if arg is not None:
        raise TransformConfigError(f'{name} takes no argument; write it as "{name}"')


# -- time ------------------------------------------------------------------------------


def _zone(name: Any, options: MappingOptions) -> ZoneInfo:
    zone = name if name is not None else options.timezone
    if not isinstance(zone, str):
        raise TransformConfigError(f"a time zone is a name like 'Europe/Berlin', not {zone!r}")
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise TransformConfigError(f"unknown time zone {zone!r}") from None


def parse_moment(value: Any) -> datetime:
    """An aware datetime from an ISO time, an ISO date (midnight UTC) or a datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise TransformError(f"{value!r} is not an ISO 8601 time") from None
    else:
        raise TransformError(f"{value!r} is not a time")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _is_date_only(value: Any) -> bool:
    return (isinstance(value, date) and not isinstance(value, datetime)) or (
        isinstance(value, str) and len(value.strip()) == 10
    )


@transform("epoch_ms", accepts=(TIME, DATE, STR), returns=NUMBER)
def _epoch_ms(arg: Any, options: MappingOptions) -> Apply:
    """ISO time -> milliseconds since the epoch. A date alone is midnight in the mapping's
    time zone."""
    no_argument("epoch_ms", arg)
    zone = _zone(None, options)

    def apply(value: Any) -> int:
        moment = parse_moment(value)
        if _is_date_only(value):
            moment = moment.replace(tzinfo=zone)
        return int(moment.timestamp() * 1000)

    return apply


@transform("date", accepts=(TIME, DATE, STR), returns=DATE)
def _date(arg: Any, options: MappingOptions) -> Apply:
    """ISO time -> YYYY-MM-DD as seen in the time zone (argument, or the mapping's)."""
    zone = _zone(arg, options)

    def apply(value: Any) -> str:
        if _is_date_only(value):
            return parse_moment(value).date().isoformat()
        return parse_moment(value).astimezone(zone).date().isoformat()

    return apply


@transform("to_timezone", accepts=(TIME, STR), returns=TIME)
def _to_timezone(arg: Any, options: MappingOptions) -> Apply:
    """ISO time -> the same instant as ISO time in the zone (argument, or the mapping's)."""
    zone = _zone(arg, options)

    def apply(value: Any) -> str:
        if _is_date_only(value):
            raise TransformError(f"{value!r} is a date without a time; it has no time zone")
        return parse_moment(value).astimezone(zone).isoformat()

    return apply


@transform("seconds_to_ms", accepts=(NUMBER,), returns=NUMBER)
def _seconds_to_ms(arg: Any, options: MappingOptions) -> Apply:
    """Seconds -> integer milliseconds (HubSpot's hs_call_duration)."""
    no_argument("seconds_to_ms", arg)

    def apply(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TransformError(f"{value!r} is not a number of seconds")
        return round(value * 1000)

    return apply


# -- text ------------------------------------------------------------------------------


@transform("truncate", accepts=(STR,), returns=STR)
def _truncate(arg: Any, options: MappingOptions) -> Apply:
    """At most N characters, marker included: ``{ truncate = 255 }`` or
    ``{ truncate = { max = 255, at = "sentence", marker = " [...]" } }``."""
    if isinstance(arg, int) and not isinstance(arg, bool):
        arg = {"max": arg}
    limit = arg.get("max") if isinstance(arg, dict) else None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise TransformConfigError("truncate needs a maximum: { truncate = 255 }")
    unknown = set(arg) - {"max", "at", "marker"}
    if unknown:
        raise TransformConfigError(f"truncate takes max, at and marker, not {sorted(unknown)}")
    limit, at = arg["max"], arg.get("at", "word")
    marker = arg.get("marker", options.truncation_marker)
    if at not in ("char", "word", "sentence") or not isinstance(marker, str):
        raise TransformConfigError("truncate: at is char, word or sentence; marker is text")
    if len(marker) >= limit:
        raise TransformConfigError(f"truncate: the marker {marker!r} leaves no room in {limit}")

    def apply(value: Any) -> str:
        text = value if isinstance(value, str) else str(value)
        cut = truncate_text(text, limit, at=at, marker=marker)
        return TruncatedStr(cut) if cut != text else cut

    apply.max_length = limit  # type: ignore[attr-defined]
    return apply


def _text(name: str, func: Callable[[str], str]) -> Callable[[Any, MappingOptions], Apply]:
    def build(arg: Any, options: MappingOptions) -> Apply:
        no_argument(name, arg)
        return lambda value: func(value if isinstance(value, str) else str(value))

    return build


_html_escape = Transform("html_escape", _text("html_escape", html.escape), (STR,), STR,
                         doc="Escape <, >, & and quotes for rich-text fields.")  # fmt: skip
_strip = Transform("strip", _text("strip", str.strip), (STR,), STR, doc="Trim white space.")
_lower = Transform("lower", _text("lower", str.lower), (STR,), STR, doc="Lower case.")
_upper = Transform("upper", _text("upper", str.upper), (STR,), STR, doc="Upper case.")


def split_name(full: str | None) -> tuple[str, str]:
    """("Ana María", "López") from "Ana María López"; ("", "Cher") from "Cher".

    The last word is taken as the last name: right for most Western names, not
    for names written family name first; map such names with a template.
    """
    parts = unicodedata.normalize("NFC", full or "").split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return "", parts[0]
    return " ".join(parts[:-1]), parts[-1]


def _name_part(index: int) -> Callable[[Any, MappingOptions], Apply]:
    def build(arg: Any, options: MappingOptions) -> Apply:
        placeholder = options.name_placeholder if arg is None else arg
        if not isinstance(placeholder, str):
            raise TransformConfigError("the name placeholder is text")

        def apply(value: Any) -> str | None:
            first, last = split_name(value if isinstance(value, str) else None)
            if not first and not last:
                return placeholder  # no name at all
            return (first, last)[index] or None  # "Cher": no first name, not a placeholder

        return apply

    return build


_first_name = Transform("first_name", _name_part(0), (STR,), STR, handles_none=True,
                        doc="All but the last word of a full name (none if one word).")  # fmt: skip
_last_name = Transform("last_name", _name_part(1), (STR,), STR, handles_none=True,
                       doc="The last word of a full name; placeholder if no name.")  # fmt: skip


@transform("map", handles_none=True)
def _map(arg: Any, options: MappingOptions) -> Apply:
    """Look the value up in a named map of ``[maps]`` (``{ map = "dispositions" }``) or an
    inline table (``{ map = { won = "X", default = "Y" } }``); ``default`` covers misses
    (without one, a miss is None)."""
    if isinstance(arg, str):
        if arg not in options.maps:
            known = ", ".join(options.maps) or "none"
            raise TransformConfigError(f"no map named {arg!r} in [maps] (maps: {known})")
        table = options.maps[arg]
    elif isinstance(arg, dict):
        table = arg
    else:
        raise TransformConfigError("map takes a map name or an inline table")
    lookup = {str(k): v for k, v in table.items() if k != "default"}
    fallback = table.get("default")
    return lambda value: lookup.get(str(value), fallback) if value is not None else fallback


# A practical address: a dot-atom or quoted local part, and a domain of letter/digit labels.
_EMAIL = regex.compile(
    r"""^(?:"[^"\r\n]+"|[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*)"""
    r"@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}$"
)


@transform("email", accepts=(STR,), returns=STR)
def _email(arg: Any, options: MappingOptions) -> Apply:
    """Trim and lower-case an email; ``{ email = "null" }`` turns an invalid one into None
    instead of failing the record."""
    mode = arg or "error"
    if mode not in ("error", "null"):
        raise TransformConfigError('email takes "error" or "null"')

    def apply(value: Any) -> str | None:
        text = str(value).strip().lower()
        if _EMAIL.match(text):
            return text
        if mode == "null":
            return None
        raise TransformError(f"{value!r} is not an email address")

    return apply


@transform("transcript_text", accepts=(LIST,), returns=STR)
def _transcript_text(arg: Any, options: MappingOptions) -> Apply:
    """Transcript segments -> one "Speaker: text" line each;
    ``{ transcript_text = "timestamps" }`` prefixes [mm:ss]."""
    if arg not in (None, "timestamps"):
        raise TransformConfigError('transcript_text takes nothing or "timestamps"')
    stamps = arg == "timestamps"

    def apply(value: Any) -> str:
        lines = []
        for seg in value if isinstance(value, list) else ():
            if not isinstance(seg, dict):
                continue
            line = f"{seg.get('speaker') or 'Unknown'}: {seg.get('text') or ''}"
            if stamps and isinstance(seg.get("start_seconds"), int | float):
                minutes, seconds = divmod(int(seg["start_seconds"]), 60)
                line = f"[{minutes:02d}:{seconds:02d}] {line}"
            lines.append(line)
        return "\n".join(lines)

    return apply


@transform("action_items_text", accepts=(LIST,), returns=STR)
def _action_items_text(arg: Any, options: MappingOptions) -> Apply:
    """Action items -> "- [x] text (due YYYY-MM-DD)" lines, open ones with "[ ]"."""
    no_argument("action_items_text", arg)

    def apply(value: Any) -> str:
        lines = []
        for item in value if isinstance(value, list) else ():
            if not isinstance(item, dict):
                continue
            done = "x" if item.get("status") == "completed" else " "
            due = f" (due {item['due_date']})" if item.get("due_date") else ""
            lines.append(f"- [{done}] {item.get('text') or ''}{due}")
        return "\n".join(lines)

    return apply


@transform("join", accepts=(LIST,), returns=STR)
def _join(arg: Any, options: MappingOptions) -> Apply:
    """List -> text joined by the argument (default ", "); None entries are skipped."""
    sep = ", " if arg is None else arg
    if not isinstance(sep, str):
        raise TransformConfigError("join takes a separator text")
    return lambda value: (
        sep.join(str(v) for v in value if v is not None) if isinstance(value, list) else str(value)
    )


@transform("to_string", returns=STR)
def _to_string(arg: Any, options: MappingOptions) -> Apply:
    """Any value -> text (numbers without a trailing .0)."""
    no_argument("to_string", arg)

    def apply(value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return apply


@transform("to_int", accepts=(NUMBER,), returns=NUMBER)
def _to_int(arg: Any, options: MappingOptions) -> Apply:
    """A number -> the nearest whole number (integer CRM fields such as
    CallDurationInSeconds)."""
    no_argument("to_int", arg)

    def apply(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TransformError(f"{value!r} is not a number")
        return round(value)

    return apply


BUILTINS: dict[str, Transform] = {
    t.name: t
    for t in (
        _epoch_ms, _date, _to_timezone, _seconds_to_ms, _truncate, _html_escape, _strip,
        _lower, _upper, _first_name, _last_name, _map, _email, _transcript_text,
        _action_items_text, _join, _to_string, _to_int,
    )
}  # fmt: skip


def load_transforms() -> dict[str, Transform]:
    """Built-ins plus every transform registered in the entry-point group."""
    found = dict(BUILTINS)
    for ep in entry_points(group=TRANSFORM_ENTRY_POINT_GROUP):
        if ep.name in BUILTINS:
            continue  # a built-in name cannot be replaced
        try:
            loaded = ep.load()
        except Exception as exc:  # a third-party plugin may fail in any way
            raise TransformConfigError(
                f"the transform plugin {ep.value} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(loaded, Transform):
            raise TransformConfigError(
                f"the entry point {ep.name} = {ep.value} is not a transform; "
                "decorate it with connector.mapping.transforms.transform"
            )
        found[ep.name] = loaded
    return found
