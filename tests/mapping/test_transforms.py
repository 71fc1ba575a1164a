"""Every built-in transform, its edge cases, and property tests for truncation and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mapping.transforms import (
    BUILTINS,
    MappingOptions,
    TransformConfigError,
    TransformError,
    TruncatedStr,
    split_name,
    truncate_text,
)

OPTIONS = MappingOptions(
    timezone="Europe/Berlin",
    maps={"dispositions": {"won": "Won", "lost": "Lost", "default": "Other"}},
)


def build(name, arg=None, options=OPTIONS):
    return BUILTINS[name].build(arg, options)


def test_epoch_ms():
    f = build("epoch_ms")
    assert f("2024-03-15T14:32:00Z") == 1710513120000
    assert f("2024-03-15T15:32:00+01:00") == 1710513120000
    # A date alone is midnight in the mapping's zone (Berlin, UTC+1 in March).
    assert f("2024-03-15") == int(datetime(2024, 3, 14, 23, tzinfo=UTC).timestamp() * 1000)
    with pytest.raises(TransformError, match="not an ISO 8601 time"):
        f("yesterday")


def test_date_in_a_time_zone():
    assert build("date")("2024-03-15T23:30:00Z") == "2024-03-16"  # already the 16th in Berlin
    assert build("date", "UTC")("2024-03-15T23:30:00Z") == "2024-03-15"
    assert build("date")("2024-03-15") == "2024-03-15"  # a date stays that date
    with pytest.raises(TransformConfigError, match="unknown time zone"):
        build("date", "Mars/Olympus_Mons")


def test_to_timezone_across_dst():
    f = build("to_timezone", "America/New_York")
    assert f("2024-03-10T06:59:00Z") == "2024-03-10T01:59:00-05:00"  # before the switch
    assert f("2024-03-10T07:00:00Z") == "2024-03-10T03:00:00-04:00"  # after: 2am skipped
    with pytest.raises(TransformError, match="date without a time"):
        f("2024-03-15")


def test_seconds_to_ms():
    f = build("seconds_to_ms")
    assert f(12) == 12000 and f(1.5) == 1500
    with pytest.raises(TransformError):
        f("12")


def test_truncate_forms_and_arguments():
    assert build("truncate", 10)("short") == "short"
    cut = build("truncate", 10)("one two three four")
    assert isinstance(cut, TruncatedStr) and cut == "one two…"
    assert build("truncate", {"max": 10, "at": "char"})("one two three") == "one two t…"
    assert build("truncate", {"max": 25, "at": "sentence", "marker": " [...]"})(
        "First one. Second one is long. Third."
    ) == "First one. [...]"
    for bad in (0, "ten", {"max": 5, "at": "line"}, {"max": 5, "colour": "red"},
                {"max": 1, "marker": "…"}):
        with pytest.raises(TransformConfigError):
            build("truncate", bad)


def test_text_transforms():
    assert build("html_escape")('<b>"Tom" & Jerry</b>') == (
        "&lt;b&gt;&quot;Tom&quot; &amp; Jerry&lt;/b&gt;"
    )
    assert build("strip")("  x \n") == "x"
    assert build("lower")("ÄBC") == "äbc"
    assert build("upper")("straße") == "STRASSE"


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ana María López", "Ana María", "López"),
        ("Cher", None, "Cher"),  # one word: a last name, and no first name (not a placeholder)
        ("  Zoë   Ødegård ", "Zoë", "Ødegård"),
        ("王 芳", "王", "芳"),
        (None, "Unknown", "Unknown"),
        ("", "Unknown", "Unknown"),
    ],
)
def test_names(full, first, last):
    assert build("first_name")(full) == first
    assert build("last_name")(full) == last


def test_name_placeholder_argument_and_decomposed_unicode():
    assert build("first_name", "(none)")(None) == "(none)"
    assert split_name("Zoe\u0308 Smith") == ("Zoë", "Smith")  # NFC-normalised


def test_map():
    assert build("map", "dispositions")("won") == "Won"
    assert build("map", "dispositions")("weird") == "Other"
    assert build("map", "dispositions")(None) == "Other"
    assert build("map", {"a": 1})("b") is None
    with pytest.raises(TransformConfigError, match="no map named 'owners'"):
        build("map", "owners")
    with pytest.raises(TransformConfigError):
        build("map", 3)


def test_email():
    assert build("email")("  Jane.O'Brien+crm@Example.COM ") == "jane.o'brien+crm@example.com"
    assert build("email")('"john doe"@example.com') == '"john doe"@example.com'
    for bad in ("not-an-email", "mailto:jane@x.com", "jane@x.com,", "ja\u200bne@x.com",
                "jane@x", "@x.com"):
        with pytest.raises(TransformError, match="not an email"):
            build("email")(bad)
    assert build("email", "null")("not-an-email") is None
    with pytest.raises(TransformConfigError):
        build("email", "maybe")


def test_transcript_and_action_items_text():
    segments = [
        {"speaker": "Rep", "start_seconds": 0, "text": "Hello"},
        {"speaker": None, "start_seconds": 75.5, "text": "Hi"},
        "garbage",
    ]
    assert build("transcript_text")(segments) == "Rep: Hello\nUnknown: Hi"
    assert build("transcript_text", "timestamps")(segments) == (
        "[00:00] Rep: Hello\n[01:15] Unknown: Hi"
    )
    items = [
        {"text": "Send deck", "status": "completed", "due_date": "2024-04-01"},
        {"text": "Call back", "status": "open"},
    ]
    assert build("action_items_text")(items) == "- [x] Send deck (due 2024-04-01)\n- [ ] Call back"


def test_to_int():
    assert build("to_int")(312.7) == 313 and build("to_int")(12) == 12
    with pytest.raises(TransformError):
        build("to_int")("12")


def test_transforms_without_arguments_refuse_one():
    for name in ("epoch_ms", "seconds_to_ms", "html_escape", "strip", "lower", "upper",
                 "action_items_text", "to_string", "to_int"):
        with pytest.raises(TransformConfigError, match="takes no argument"):
            build(name, "Europe/Berlin")
    with pytest.raises(TransformConfigError):
        build("transcript_text", "timestamp")  # a typo of "timestamps"


def test_truncation_boundaries():
    assert truncate_text("one two three", 8) == "one two…"  # the word that fits exactly
    assert truncate_text("The price is 3.14 dollars today.", 20, at="sentence") == (
        "The price is 3.14…"
    )  # "3." is not a sentence end
    long = "Hi. " + "word " * 100
    assert len(truncate_text(long, 400, at="sentence")) > 300  # not just "Hi."
    assert truncate_text("Mr\u00a0Smith went home", 12) == "Mr\u00a0Smith…"  # no break at NBSP


def test_join_and_to_string():
    assert build("join")(["a", None, "b"]) == "a, b"
    assert build("join", " | ")([1, 2]) == "1 | 2"
    assert build("to_string")(12.0) == "12" and build("to_string")(1.5) == "1.5"


def test_every_builtin_is_tested_and_documented():
    import connector.mapping.transforms as module

    tested = {"epoch_ms", "date", "to_timezone", "seconds_to_ms", "truncate", "html_escape",
              "strip", "lower", "upper", "first_name", "last_name", "map", "email",
              "transcript_text", "action_items_text", "join", "to_string", "to_int"}
    assert set(BUILTINS) == tested
    for name in BUILTINS:
        assert name in module.__doc__, f"{name} is missing from the module's table"


# -- properties ----------------------------------------------------------------------------

# Pieces that are one grapheme each but several code points: a cut inside one is a bug.
GRAPHEME_TEXT = st.lists(
    st.sampled_from(
        ["a", "b", " ", ".", "é", "e\u0301", "👍🏽", "🇩🇪", "👨‍👩‍👧", "王", "\n", "!"]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300)
@given(text=GRAPHEME_TEXT, limit=st.integers(2, 40),
       at=st.sampled_from(["char", "word", "sentence"]), marker=st.sampled_from(["…", " [...]"]))
def test_truncation_never_over_never_splits_a_grapheme(text, limit, at, marker):
    if len(marker) >= limit:
        return
    cut = truncate_text(text, limit, at=at, marker=marker)
    assert len(cut) <= limit, "the marker counts in the limit"
    if len(text) <= limit:
        assert cut == text
        return
    assert cut.endswith(marker)
    head = cut[: len(cut) - len(marker)]
    assert text.startswith(head)
    # The cut falls on a grapheme boundary of the original text.
    boundaries = {0} | {m.end() for m in regex.finditer(r"\X", text)}
    assert len(head) in boundaries


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.sampled_from([UTC])),
       st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                        "Australia/Lord_Howe"]))
def test_time_zone_conversion_keeps_the_instant(moment, zone):
    iso = moment.isoformat()
    converted = build("to_timezone", zone)(iso)
    assert datetime.fromisoformat(converted) == moment
    assert build("epoch_ms")(converted) == build("epoch_ms")(iso)
    # The date in the zone is the zone's local date of that instant.
    local = datetime.fromisoformat(converted)
    assert build("date", zone)(iso) == local.date().isoformat()


@given(st.dates(min_value=datetime(1971, 1, 2).date(), max_value=datetime(2100, 1, 1).date()))
def test_date_only_values_stay_their_date(day):
    assert build("date")(day.isoformat()) == day.isoformat()
    ms = build("epoch_ms")(day.isoformat())
    # Midnight in Berlin (the mapping's zone) is 22:00 or 23:00 UTC the day before.
    utc = datetime.fromtimestamp(ms / 1000, UTC)
    assert utc.date() == day - timedelta(days=1) and utc.hour in (22, 23)
