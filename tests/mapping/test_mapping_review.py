"""Mappings under abuse and odd data: sandbox escapes, denial of service, purity, edge cases."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping import load_mapping
from connector.mapping.compiler import FailedRecord, MappedRecord
from tests.mapping.test_mapping import BASE, a_call, write

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def field(tmp_path, spec: str, call=None, extra_objects: str = ""):
    mapping = load_mapping(write(tmp_path, BASE + f"x = {spec}\n" + extra_objects))
    return mapping.map_call(call or a_call())[0]


@pytest.mark.parametrize(
    "template",
    [
        "{{ summary|attr('__class__') }}",
        "{{ [summary]|map(attribute='__class__')|list }}",
        "{{ self }}",
        "{{ range(10) }}",
        "{{ lipsum() }}",
        "{{ namespace() }}",
        "{{ cycler(1) }}",
    ],
)
def test_more_escape_routes_are_refused_at_load(tmp_path, template):
    with pytest.raises(MappingError) as info:
        load_mapping(write(tmp_path, BASE + f'x = {{ template = "{template}" }}\n'))
    assert "objects.call.fields.x.template" in str(info.value)


@pytest.mark.parametrize(
    "template",
    [
        "{{ summary['__cla' ~ 'ss__'] }}",
        "{% set k = '__class__' %}{{ summary[k] }}",
        "{{ action_items.clear() }}",
        "{{ summary.update({'text': 'W'}) }}",
        "{{ 9 ** 99999999 }}",
        "{{ 'x' * 300000000 }}",
    ],
)
def test_what_only_shows_at_render_fails_the_record(tmp_path, template):
    """Dynamic names, mutation and huge work are stopped by the sandbox: the record fails,
    the record itself is untouched, and nothing hangs."""
    call = a_call()
    before = repr(call)
    started = time.monotonic()
    outcome = field(tmp_path, f'{{ template = "{template}" }}', call)
    assert time.monotonic() - started < 2
    assert isinstance(outcome, FailedRecord) and "SecurityError" in outcome.reason
    assert repr(call) == before


def test_none_renders_as_nothing_and_empty_output_is_no_value(tmp_path):
    outcome = field(tmp_path, '{ template = "{{ outcome }}" }', a_call(outcome=None))
    assert isinstance(outcome, MappedRecord) and "x" not in outcome.values
    outcome = field(tmp_path, '{ template = "{{ summary.generated_at }}", '
                    'transforms = ["epoch_ms"] }', a_call(summary=None))
    assert isinstance(outcome, MappedRecord) and "x" not in outcome.values


def test_conditions_can_read_extra_fields(tmp_path):
    body = BASE.replace('external_id = "ext_id"',
                        'external_id = "ext_id"\nwhen = ["extra.language == \'de\'"]')
    mapping = load_mapping(write(tmp_path, body + 'x = "id"\n'))
    assert isinstance(mapping.map_call(a_call(language="de"))[0], MappedRecord)
    assert not isinstance(mapping.map_call(a_call(language="en"))[0], MappedRecord)
    assert mapping.needs_call_detail  # an unknown field may only be in the detail


def test_links_are_normalised_and_empty_ones_dropped(tmp_path):
    body = BASE.replace(
        'external_id = "ext_id"',
        'external_id = "ext_id"\n'
        'links = [{ to = "call", by = "prospect_email", transforms = [{ email = "null" }] }]',
    )
    mapping = load_mapping(write(tmp_path, body + 'x = "id"\n'))
    [record] = mapping.map_call(a_call(prospect_email=" Jane.Doe@Example.COM "))
    assert [link.value for link in record.links] == ["jane.doe@example.com"]
    for odd in ("", "not an email", None):
        [record] = mapping.map_call(a_call(prospect_email=odd))
        assert record.links == ()


def test_a_malformed_call_never_raises(tmp_path):
    mapping = load_mapping(write(tmp_path, BASE + 'x = "id"\n' + textwrap.dedent("""
        [objects.task]
        source = "action_items"
        external_id = "y"
        [objects.task.fields]
        t = "text"
    """)))
    outcomes = mapping.map_call(a_call(action_items=5))
    assert isinstance(outcomes[0], MappedRecord)
    assert isinstance(outcomes[1], FailedRecord) and "not a list" in outcomes[1].reason
    outcomes = mapping.map_call(a_call(action_items=["junk", {"id": "ai_1", "text": "ok"}]))
    assert isinstance(outcomes[1], FailedRecord) and isinstance(outcomes[2], MappedRecord)


def test_truncation_is_reported_wherever_it_happens_in_the_chain(tmp_path):
    outcome = field(tmp_path, '{ template = "a long enough text", '
                    'transforms = [{ truncate = 8 }, "upper"] }')
    assert outcome.values["x"] == "A LONG…" and outcome.truncated == ("x",)


def test_configured_maps_override_single_keys(tmp_path):
    path = write(tmp_path, BASE + 'x = { path = "outcome", transforms = [{ map = "m" }] }\n'
                 '[maps.m]\nwon = "W"\ndefault = "D"\n')
    mapping = load_mapping(path, maps={"m": {"lost": "L"}})
    assert mapping.map_call(a_call(outcome="lost"))[0].values["x"] == "L"
    assert mapping.map_call(a_call(outcome="weird"))[0].values["x"] == "D"  # default kept


@pytest.mark.parametrize(
    ("body", "key", "fragment"),
    [
        ('[options]\ntimezone = "Mars/Base"\n' + BASE + 'x = "id"\n', "options.timezone",
         "unknown time zone"),
        (BASE + 'x = { template = "{{ id | frobnicate }}" }\n', "objects.call.fields.x.template",
         "No filter named 'frobnicate'"),
        (BASE + 'x = "summary"\n', "objects.call.fields.x", "is an object"),
        (BASE + 'x = "transcript"\n', "objects.call.fields.x", "is a list"),
        (BASE + 'x = { path = "outcome", transforms = [{ truncate = { max = true } }] }\n',
         "objects.call.fields.x.transforms.0", "truncate needs a maximum"),
        (BASE + 'x = { path = "outcome", colour = "red" }\n', "objects.call.fields.x.colour",
         "unknown key"),
        (BASE.replace('external_id = "ext_id"', 'external_id = "ext_id"\nwhen = ["id ==="]')
         + 'x = "id"\n', "objects.call.when.0", "syntax error"),
    ],
)
def test_more_load_errors(tmp_path, body, key, fragment):
    with pytest.raises(MappingError) as info:
        load_mapping(write(tmp_path, body))
    problems = info.value.problems
    assert any(p.key == key and fragment in p.message for p in problems), str(info.value)


def test_a_map_to_tables_does_not_crash(tmp_path):
    path = write(tmp_path, BASE + 'x = { path = "outcome", transforms = [{ map = "m" }] }\n'
                 '[maps.m]\nwon = ["a", "b"]\n')
    assert load_mapping(path).objects["call"].fields[0].possible_values is None


def test_line_numbers_skip_multiline_strings(tmp_path):
    body = BASE + 'a = { template = """\n[objects.call.fields]\nbogus = 1\n""" }\nb = "nope"\n'
    with pytest.raises(MappingError) as info:
        load_mapping(write(tmp_path, body))
    [problem] = info.value.problems
    assert problem.key == "objects.call.fields.b.path"
    assert problem.line == body.count("\n")


def test_unreadable_and_non_utf8_mapping_files(tmp_path):
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(tmp_path / "missing.toml")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(MappingError, match="not UTF-8"):
        load_mapping(tmp_path / "binary.toml")


def test_broken_and_wrong_transform_plugins_are_reported(tmp_path, monkeypatch):
    path = write(tmp_path, BASE + 'x = "id"\n')
    monkeypatch.syspath_prepend(str(PLUGINS / "bad_site"))
    with pytest.raises(MappingError, match="revont_sync_bad_plugin:does_not_exist failed to load"):
        load_mapping(path)


def test_a_plain_function_is_not_a_transform(tmp_path, monkeypatch):
    path = write(tmp_path, BASE + 'x = "id"\n')
    monkeypatch.syspath_prepend(str(PLUGINS / "plain_site"))
    with pytest.raises(MappingError, match="is not a transform"):
        load_mapping(path)


def test_a_plugin_cannot_replace_a_builtin(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS / "site"))
    outcome = field(tmp_path, '{ path = "outcome", transforms = ["lower"] }',
                    a_call(outcome="won"))
    assert outcome.values["x"] == "won"  # the built-in lower, not the plugin's shout


@pytest.mark.parametrize(
    ("fields", "needs"),
    [
        ('x = "id"\n', False),
        ('x = "outcome"\n', False),
        ('x = { template = "{{ summary.text }}" }\n', True),
        ('x = { template = "{{ transcript | length }}" }\n', True),
        ('x = "action_items[0].text"\n', True),
        ('x = "extra.talk_ratio"\n', True),
    ],
)
def test_details_are_needed_exactly_when_detail_fields_are_read(tmp_path, fields, needs):
    assert load_mapping(write(tmp_path, BASE + fields)).needs_call_detail is needs


def test_a_when_on_a_detail_field_needs_details(tmp_path):
    body = BASE.replace('external_id = "ext_id"',
                        'external_id = "ext_id"\nwhen = ["summary.status == \'ready\'"]')
    assert load_mapping(write(tmp_path, body + 'x = "id"\n')).needs_call_detail


def test_an_action_item_object_needs_details(tmp_path):
    body = 'version = 1\n[objects.t]\nsource = "action_items"\nexternal_id = "y"\n' \
           '[objects.t.fields]\nt = "text"\n'
    assert load_mapping(write(tmp_path, body)).needs_call_detail
