"""Loading, checking and applying mappings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping import load_mapping, shipped_mappings
from connector.mapping.compiler import FailedRecord, MappedRecord, SkippedRecord
from connector.revont.sandbox.workspace import Workspace

PLUGIN_SITE = Path(__file__).resolve().parent.parent / "plugins" / "site"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


BASE = """
version = 1

[objects.call]
source = "calls"
external_id = "ext_id"

[objects.call.fields]
"""


def problems(tmp_path, body):
    path = write(tmp_path, body)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    text = str(info.value)
    assert str(path) in text and text.startswith("invalid mapping in")
    return info.value.problems, text


def a_call(**fields):
    ws = Workspace(seed=1)
    ws.populate(contacts=5, calls=60)
    call = ws.detail_view(next(c for c in ws.calls.by_id.values() if c["_action_items"]))
    call.update(fields)
    return call


@pytest.mark.parametrize("name", ["hubspot", "salesforce"])
def test_shipped_mappings_load_and_map_real_calls(name):
    mapping = load_mapping(shipped_mappings()[name])
    ws = Workspace(seed=2)
    ws.populate(contacts=30, calls=200)
    outcomes = []
    for contact in ws.contacts.by_id.values():
        outcomes += mapping.map_contact(dict(contact))
    for call in ws.calls.by_id.values():
        outcomes += mapping.map_call(ws.detail_view(call))
    kinds = {type(o) for o in outcomes}
    assert MappedRecord in kinds
    assert not [o for o in outcomes if isinstance(o, FailedRecord)], "no generated record fails"
    assert mapping.needs_call_detail


def test_a_call_maps_to_the_call_and_one_task_per_action_item():
    mapping = load_mapping(shipped_mappings()["hubspot"])
    call = a_call(duration_seconds=300, outcome="won")
    outcomes = mapping.map_call(call)
    records = [o for o in outcomes if isinstance(o, MappedRecord)]
    assert [r.object for r in records] == ["call", "note"] + ["task"] * len(call["action_items"])
    first = records[0]
    assert first.external_id == call["id"] and first.external_id_field == "revont_call_id"
    assert first.values["hs_call_duration"] == 300_000
    assert first.values["hs_call_status"] == "COMPLETED"
    assert "Open in Revont" in first.values["hs_call_body"]
    assert first.links[0].to == "contact" and first.links[0].value == call["prospect_email"]
    note = records[1]  # the transcript, on the contact (vars.notes = "full")
    assert note.external_id == call["id"] + ":1" and note.part == (1, 1)
    assert note.links[0].to == "contact"
    task = records[2]
    assert task.external_id == call["action_items"][0]["id"]
    assert {link.to for link in task.links} == {"contact", "call"}


def test_skips_say_why_and_failures_stay_alone(tmp_path):
    path = write(tmp_path, BASE + """
        title = { path = "prospect_email", transforms = ["email"] }
        [objects.other]
        source = "calls"
        external_id = "x"
        when = ["duration_seconds >= 30"]
        [objects.other.fields]
        d = "duration_seconds"
    """)
    mapping = load_mapping(path)
    call, other = mapping.map_call(a_call(prospect_email="not an email", duration_seconds=5))
    assert isinstance(call, FailedRecord) and call.field == "title"
    assert "not an email" in call.reason
    assert isinstance(other, SkippedRecord) and "duration_seconds >= 30" in other.reason
    # A condition that cannot be evaluated fails the record (to be retried and reported).
    _, other = mapping.map_call(a_call(prospect_email="a@b.co", duration_seconds=None))
    assert isinstance(other, FailedRecord) and "could not be evaluated" in other.reason


def test_defaults_required_constants_truncation_and_extra(tmp_path):
    path = write(tmp_path, BASE + """
        outcome = { path = "outcome", default = "none yet" }
        owner = { path = "rep_id", required = true }
        kind = { value = "call" }
        body = { template = "{{ summary.text or 'pending' }}", transforms = [{ truncate = 12 }] }
        lang = "extra.language"
        first_item = "action_items[0].text"
        last_item = "action_items[-1].id"
    """)
    mapping = load_mapping(path)
    [record] = mapping.map_call(a_call(outcome=None, summary=None))
    assert record.values["outcome"] == "none yet"
    assert record.values["kind"] == "call"
    assert record.values["body"] == "pending"
    assert record.values["lang"] in ("en", "de", "fr", "es")
    assert record.values["first_item"]
    [record] = mapping.map_call(a_call(summary={"status": "ready", "text": "A long summary."}))
    assert record.values["body"] == "A long…" and record.truncated == ("body",)
    [failed] = mapping.map_call(a_call(rep_id=None))
    assert isinstance(failed, FailedRecord) and "owner: required" in failed.reason


def test_reads_decide_whether_details_are_needed(tmp_path):
    lean = load_mapping(write(tmp_path, BASE + 'when_ = "created_at"\nscore = "coaching_score"\n'))
    assert lean.reads["calls"] == {"id", "created_at", "coaching_score"}
    assert not lean.needs_call_detail
    rich = load_mapping(write(tmp_path, BASE + 'text = "summary.text"\n'))
    assert rich.needs_call_detail


@pytest.mark.parametrize(
    ("fields", "key", "fragment"),
    [
        ('x = "sumary.text"', "objects.call.fields.x.path", "did you mean 'summary'"),
        ('x = "summary.txt"', "objects.call.fields.x.path", "no field 'txt'"),
        ('x = "duration_seconds[0]"', "objects.call.fields.x.path", "not a list"),
        ('x = { path = "outcome", transforms = ["shouty"] }', "objects.call.fields.x.transforms.0",
         "unknown transform 'shouty'"),
        ('x = { path = "duration_seconds", transforms = ["lower"] }',
         "objects.call.fields.x.transforms.0", "lower takes str, but gets number"),
        ('x = { path = "prospect_email", transforms = ["seconds_to_ms"] }',
         "objects.call.fields.x.transforms.0", "takes number, but gets str"),
        ('x = { path = "summary.text", transforms = ["transcript_text"] }',
         "objects.call.fields.x.transforms.0", "takes list"),
        ('x = { template = "{{ summary.text " }', "objects.call.fields.x.template",
         "template syntax error"),
        ('x = { template = "{{ prospect }}" }', "objects.call.fields.x.template",
         "unknown name(s) prospect"),
        ('x = { path = "outcome", colour = "red" }', "objects.call.fields.x.colour",
         "unknown key"),
        ('x = { path = "outcome", value = 3 }', "objects.call.fields.x",
         "exactly one of path, value or template"),
        ('x = { path = "outcome", transforms = [{ truncate = 0 }] }',
         "objects.call.fields.x.transforms.0", "truncate needs a maximum"),
    ],
)
def test_load_errors_name_key_line_and_expectation(tmp_path, fields, key, fragment):
    found, text = problems(tmp_path, BASE + fields + "\n")
    assert any(p.key == key and fragment in p.message for p in found), text
    problem = next(p for p in found if p.key == key)
    assert problem.line == BASE.count("\n") + 1, text  # the field's own line


def test_shape_errors(tmp_path):
    found, text = problems(tmp_path, "version = 2\n[objects.call]\nsource = 'emails'\n")
    keys = {p.key for p in found}
    assert {"version", "objects.call.source", "objects.call.external_id",
            "objects.call.fields"} <= keys, text
    found, text = problems(tmp_path, BASE.replace('source = "calls"', 'source = "calls"\n'
                                                  'links = [{ to = "nobody", by = "id" }]'))
    assert any("no object 'nobody'" in p.message for p in found), text
    found, text = problems(tmp_path, "version = 1\n[objects\n")
    assert "invalid TOML" in text and "line 2" in text


@pytest.mark.parametrize(
    "template",
    [
        "{{ summary.__class__ }}",
        "{{ summary.text.__class__.__mro__ }}",
        "{{ action_items['__len__'] }}",
        "{{ id.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_template_escapes_are_refused_at_load(tmp_path, template):
    found, text = problems(tmp_path, BASE + f'x = {{ template = "{template}" }}\n')
    assert "Python internal" in text


def test_condition_escapes_are_refused_too(tmp_path):
    body = BASE.replace('external_id = "ext_id"',
                        'external_id = "ext_id"\nwhen = ["id.__class__"]') + 'x = "id"\n'
    found, text = problems(tmp_path, body)
    assert "objects.call.when.0" in text and "Python internal" in text


def test_maps_from_configuration_override_the_file(tmp_path):
    path = write(tmp_path, BASE + 'owner = { path = "rep_id", transforms = [{ map = "owners" }] }'
                 "\n[maps.owners]\n")
    call = a_call()
    [record] = load_mapping(path).map_call(call)
    assert "owner" not in record.values
    [record] = load_mapping(path, maps={"owners": {call["rep_id"]: "42"}}).map_call(call)
    assert record.values["owner"] == "42"


def test_a_user_transform_from_an_entry_point_is_found_and_used(tmp_path, monkeypatch):
    """A small installed package registers `shout` in revont_sync.transforms."""
    path = write(tmp_path, BASE + 'x = { path = "outcome", transforms = [{ shout = 3 }] }\n')
    with pytest.raises(MappingError, match="unknown transform 'shout'"):
        load_mapping(path)
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    [record] = load_mapping(path).map_call(a_call(outcome="won"))
    assert record.values["x"] == "WON!!!"
