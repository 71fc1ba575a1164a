"""Mapping variables (``[vars]``, overridable by the adapter's configuration) and split
objects (one CRM record per part of a long value), and the shipped HubSpot note that
uses both."""

from __future__ import annotations

import html
import json
import textwrap
import time
from pathlib import Path

import pytest
import regex
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import CrmField
from connector.cli import cli
from connector.errors import MappingError
from connector.mapping import load_mapping, shipped_mappings
from connector.mapping.compiler import FailedRecord, MappedRecord, SkippedRecord
from connector.mapping.crm_check import check_against_crm
from connector.mapping.text import render_prefix, split_text
from connector.revont.sandbox.workspace import Workspace


def write(tmp_path: Path, body: str, name: str = "mapping.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def load_problems(path: Path, **kw) -> tuple[list, str]:
    with pytest.raises(MappingError) as info:
        load_mapping(path, **kw)
    return info.value.problems, str(info.value)


def workspace_calls(**fields):
    ws = Workspace(seed=3)
    ws.populate(contacts=5, calls=60)
    return ws, next(c for c in ws.calls.by_id.values() if c["_action_items"])


def a_call(**fields):
    """A call as GET /calls/{id} shows it, with action items, changed by ``fields``;
    ``transcript_chars`` makes its transcript about that long."""
    ws, call = workspace_calls()
    if "transcript_chars" in fields:
        call = {**call, "_transcript_chars": fields.pop("transcript_chars")}
    detail = ws.detail_view(call)
    detail.update(fields)
    return detail


VARS = """
version = 1

[vars]
label = "Revont"
min_seconds = 30
with_tasks = true
"""


# -- variables --------------------------------------------------------------------------


def test_vars_are_read_by_templates_and_conditions_of_every_source(tmp_path):
    mapping = load_mapping(
        write(
            tmp_path,
            VARS
            + """
        [objects.contact]
        source = "contacts"
        external_id = "a"
        [objects.contact.fields]
        title = { template = "{{ vars.label }} contact {{ name }}" }

        [objects.call]
        source = "calls"
        external_id = "b"
        when = ["duration_seconds >= vars.min_seconds"]
        [objects.call.fields]
        title = { template = "{{ vars['label'] }} call, {{ vars.min_seconds * 2 }}" }

        [objects.task]
        source = "action_items"
        external_id = "c"
        when = ["vars.with_tasks and text"]
        [objects.task.fields]
        text = { template = "{{ vars.label }}: {{ text }}" }
    """,
        )
    )
    [contact] = mapping.map_contact({"id": "contact_1", "name": "Ana"})
    assert contact.values["title"] == "Revont contact Ana"
    call = a_call(duration_seconds=45)
    call_record, *tasks = mapping.map_call(call)
    assert call_record.values["title"] == "Revont call, 60"
    assert [t.values["text"] for t in tasks] == [
        f"Revont: {item['text']}" for item in call["action_items"]
    ]
    [skipped, *_] = mapping.map_call(a_call(duration_seconds=10))
    assert isinstance(skipped, SkippedRecord) and "vars.min_seconds" in skipped.reason
    assert mapping.variables == {"label": "Revont", "min_seconds": 30, "with_tasks": True}


def test_vars_are_not_revont_reads(tmp_path):
    mapping = load_mapping(
        write(
            tmp_path,
            VARS
            + """
        [objects.call]
        source = "calls"
        external_id = "b"
        when = ["vars.with_tasks", "duration_seconds >= vars.min_seconds"]
        [objects.call.fields]
        title = { template = "{{ vars.label }}" }
    """,
        )
    )
    assert mapping.reads["calls"] == {"id", "duration_seconds"}
    assert not mapping.needs_call_detail


def test_a_revont_field_named_vars_cannot_stand_in_for_them(tmp_path):
    mapping = load_mapping(
        write(
            tmp_path,
            VARS
            + """
        [objects.call]
        source = "calls"
        external_id = "b"
        [objects.call.fields]
        title = { template = "{{ vars.label }}" }
        sent = "extra.vars"
    """,
        )
    )
    [record] = mapping.map_call(a_call(vars={"label": "from Revont"}))
    assert record.values["title"] == "Revont"
    assert record.values["sent"] == {"label": "from Revont"}


@pytest.mark.parametrize(
    ("where", "text", "key", "fragment"),
    [
        (
            "field",
            "{{ vars.lable }}",
            "objects.call.fields.x.template",
            "reads vars.lable, which [vars] does not declare (it has: label, min_seconds, "
            "with_tasks)",
        ),
        ("field", "{{ vars }}", "objects.call.fields.x.template", "read one: vars.<name>"),
        ("field", "{{ vars[id] }}", "objects.call.fields.x.template", "read one: vars.<name>"),
        ("when", "vars.nope", "objects.call.when.0", "reads vars.nope"),
        ("when", "vars.label.__class__", "objects.call.when.0", "Python internal"),
    ],
)
def test_reading_an_undeclared_var_is_a_load_error_with_key_and_line(
    tmp_path, where, text, key, fragment
):
    when = f"when = [{json.dumps(text)}]" if where == "when" else ""
    field = f"x = {{ template = {json.dumps(text)} }}" if where == "field" else 'x = "id"'
    body = (
        VARS
        + f"""
[objects.call]
source = "calls"
external_id = "b"
{when}
[objects.call.fields]
{field}
"""
    )
    path = write(tmp_path, body)
    found, message = load_problems(path)
    problem = next((p for p in found if p.key == key), None)
    assert problem is not None and fragment in problem.message, message
    expected_line = body.splitlines().index(when or field) + 1
    assert problem.line == expected_line, message


def test_a_mapping_without_vars_reading_one_says_there_are_none(tmp_path):
    path = write(
        tmp_path,
        """
        version = 1
        [objects.call]
        source = "calls"
        external_id = "b"
        [objects.call.fields]
        x = { template = "{{ vars.notes }}" }
    """,
    )
    _, message = load_problems(path)
    assert "reads vars.notes, which [vars] does not declare (it has: none)" in message


@pytest.mark.parametrize(
    ("table", "key", "fragment"),
    [
        ('"bad name" = 1', "vars", "a variable's name is letters"),
        ("_private = 1", "vars", "a variable's name is letters"),
        ("listed = [1, 2]", "vars.listed", "valid string"),
        ("when = 2024-01-01", "vars.when", "valid string"),
    ],
)
def test_bad_var_declarations(tmp_path, table, key, fragment):
    path = write(
        tmp_path,
        f"""
        version = 1
        [vars]
        {table}
        [objects.call]
        source = "calls"
        external_id = "b"
        [objects.call.fields]
        x = "id"
    """,
    )
    found, message = load_problems(path)
    assert any(p.key == key and fragment in p.message for p in found), message


def test_vars_from_the_configuration_replace_the_files_and_must_be_declared(tmp_path):
    path = write(
        tmp_path,
        VARS
        + """
        [objects.call]
        source = "calls"
        external_id = "b"
        when = ["vars.with_tasks"]
        [objects.call.fields]
        title = { template = "{{ vars.label }} {{ vars.min_seconds }}" }
    """,
    )
    call = a_call()
    [record] = load_mapping(path, vars={"label": "Ours", "min_seconds": 1.5}).map_call(call)
    assert record.values["title"] == "Ours 1.5"  # a float for an int: both numbers
    [skipped] = load_mapping(path, vars={"with_tasks": False}).map_call(call)
    assert isinstance(skipped, SkippedRecord) and "vars.with_tasks" in skipped.reason
    found, message = load_problems(
        path, vars={"lable": "typo", "with_tasks": "yes"}, vars_key="adapters.memory.vars"
    )
    keys = {p.key: p.message for p in found}
    assert "declares no variable 'lable'" in keys["adapters.memory.vars.lable"], message
    assert "(it has: label, min_seconds, with_tasks)" in keys["adapters.memory.vars.lable"]
    assert "with_tasks is a boolean in the mapping" in keys["adapters.memory.vars.with_tasks"]
    found, _ = load_problems(path, vars={"nope": 1})
    assert [p.key for p in found] == ["vars.nope"]


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "250", **(env or {})})


def test_adapter_config_vars_through_the_command_line(tmp_path):
    """`[adapters.<name>.vars]` in the config file wins over the mapping; a name the
    mapping does not declare stops `mappings check` naming the config key."""
    write(
        tmp_path,
        VARS
        + """
        [objects.call]
        source = "calls"
        external_id = "b"
        when = ["vars.with_tasks"]
        [objects.call.fields]
        title = { template = "{{ vars.label }}" }
    """,
        name="m.toml",
    )
    config = tmp_path / "revont-sync.toml"
    config.write_text(
        '[adapters.memory]\nmapping = "m.toml"\n[adapters.memory.vars]\nlabel = "Ours"\n'
    )
    result = run("--config", str(config), "mappings", "check", "--adapter", "memory")
    assert result.exit_code == 0, result.output
    assert "vars: label = 'Ours', min_seconds = 30, with_tasks = True" in result.output
    assert "writes nothing" not in result.output
    # A value that turns an object off shows (a value typo would look the same).
    config.write_text(
        '[adapters.memory]\nmapping = "m.toml"\n[adapters.memory.vars]\nwith_tasks = false\n'
    )
    result = run("--config", str(config), "mappings", "check", "--adapter", "memory")
    assert "call <- calls (writes nothing: when 'vars.with_tasks' is false)" in result.output
    config.write_text(
        '[adapters.memory]\nmapping = "m.toml"\n[adapters.memory.vars]\nlabl = "Ours"\n'
    )
    result = run("--config", str(config), "mappings", "check", "--adapter", "memory")
    assert result.exit_code == 2, result.output
    assert "adapters.memory.vars.labl: the mapping declares no variable 'labl'" in (
        " ".join(result.output.split())
    )


def test_a_condition_on_vars_alone_is_decided_at_load(tmp_path):
    body = (
        VARS
        + """
        [objects.call]
        source = "calls"
        external_id = "b"
        when = ["vars.with_tasks", "vars.label == 'Revont' and prospect_email"]
        [objects.call.fields]
        x = "id"
    """
    )
    mapping = load_mapping(write(tmp_path, body))
    assert [text for text, _ in mapping.objects["call"].conditions] == [
        "vars.label == 'Revont' and prospect_email"
    ]
    off = load_mapping(write(tmp_path, body), vars={"with_tasks": False})
    [skipped] = off.map_call(a_call())
    assert skipped.reason == "when 'vars.with_tasks' is false"


# -- splitting text ---------------------------------------------------------------------

# Words, white space, sentence ends and graphemes of several code points (a cut inside
# one is a bug), assembled into texts from short to several times the limit.
PIECES = st.sampled_from(
    ["word", "a", "longerword", " ", " ", "  ", "\n", "\n\n", "\r\n", ". ", "! ", "3.14",
     "é", "e\u0301", "👍🏽", "🇩🇪", "🇩", "👨\u200d👩\u200d👧", "王", "\u1100\u1161", "\u00a0", "\t",
     " \u0301", "\u0600 "]
)  # fmt: skip
TEXT = st.lists(PIECES, max_size=300).map("".join)


def boundaries(text: str) -> set[int]:
    return {0} | {m.end() for m in regex.finditer(r"\X", text)}


@settings(max_examples=300, deadline=None)
@given(
    text=TEXT,
    limit=st.integers(100, 250),
    at=st.sampled_from(["paragraph", "line", "sentence", "word"]),
    prefix=st.sampled_from(["", "Part {n} of {total}\n", "<p>{n}/{total}</p>"]),
)
def test_split_parts_fit_rejoin_and_never_cut_a_grapheme(text, limit, at, prefix):
    parts = split_text(text, limit, at=at, prefix=prefix)
    assert all(len(part) <= limit for part in parts)
    if len(text) <= limit:
        assert parts == [text]
        return
    assert len(parts) >= 2
    bodies = []
    for n, part in enumerate(parts, start=1):
        head = render_prefix(prefix, n, len(parts))
        assert part.startswith(head)
        bodies.append(part[len(head) :])
    # Re-joined, the parts give back the text, less white space at the cuts.
    pos, edges = 0, boundaries(text)
    for body in bodies:
        assert body, "no empty part"
        while not text.startswith(body, pos):
            assert text[pos].isspace(), (pos, body)
            pos += 1
        assert pos in edges and pos + len(body) in edges, "a grapheme was cut"
        pos += len(body)
    assert text[pos:].isspace() or pos == len(text)


def test_split_prefers_paragraphs_then_lines_then_sentences():
    paragraphs = "\n\n".join(f"Paragraph {i}." + " Some words here." * 4 for i in range(6))
    parts = split_text(paragraphs, 250)
    assert all(p.startswith("Paragraph") and p.endswith("here.") for p in parts), parts
    lines = "\n".join(f"<p>Speaker {i}: a line of talk that is short.</p>" for i in range(40))
    parts = split_text(lines, 300, at="line", prefix="<p>{n} of {total}</p>\n")
    assert all(p.endswith("</p>") and len(p) <= 300 for p in parts)
    assert parts[0].startswith("<p>1 of ") and parts[-1].startswith(f"<p>{len(parts)} of ")
    sentences = " ".join(["One sentence here."] * 30)
    parts = split_text(sentences, 100, at="sentence")
    assert all(p.endswith("here.") for p in parts)
    # No boundary but graphemes: full parts, no emoji halved.
    parts = split_text("👍🏽" * 100, 101)
    assert [len(p) for p in parts] == [100, 100]


def test_split_stays_linear_on_long_runs_of_flags():
    """Flags are pairs of regional indicators, paired from the start of their run; a
    naive grapheme scan of such a run takes minutes, so boundaries in it are counted."""
    started = time.perf_counter()
    parts = split_text("x" + "🇩🇪" * 100_000, 65536)
    assert time.perf_counter() - started < 5
    assert len(parts) == 4 and all(p.endswith("🇩🇪") for p in parts)


def test_the_part_count_grows_the_prefix_and_still_fits():
    text = "x " * 3000  # 6,000 characters: 60+ parts of 100, so "{total}" takes 2 digits
    parts = split_text(text, 100, at="word", prefix="Part {n} of {total}: ")
    assert len(parts) > 9 and all(len(p) <= 100 for p in parts)
    assert parts[9].startswith(f"Part 10 of {len(parts)}: ")


# -- split objects ----------------------------------------------------------------------

SPLIT = """
version = 1

[objects.contact]
source = "contacts"
external_id = "a"
[objects.contact.fields]
email = "email"

[objects.note]
source = "calls"
external_id = "note_id"
links = [{ to = "contact", by = "prospect_email" }]
split = { field = "body", max = 200, prefix = "({n}/{total}) " }
[objects.note.fields]
when_ = "created_at"
body = "summary.text"
"""


def test_a_split_object_gives_one_record_per_part_with_stable_ids(tmp_path):
    mapping = load_mapping(write(tmp_path, SPLIT))
    long_text = " ".join(f"Sentence number {i} of the summary." for i in range(30))
    call = a_call(summary={"status": "ready", "text": long_text})
    parts = mapping.map_call(call)
    assert len(parts) >= 5 and all(isinstance(p, MappedRecord) for p in parts)
    total = len(parts)
    for n, part in enumerate(parts, start=1):
        assert part.external_id == f"{call['id']}:{n}" and part.source_id == call["id"]
        assert part.part == (n, total) and part.external_id_field == "note_id"
        assert part.values["when_"] == call["created_at"]
        assert part.links == parts[0].links and part.links[0].value == call["prospect_email"]
        assert part.values["body"].startswith(f"({n}/{total}) ")
        assert len(part.values["body"]) <= 200
    # Within max: one part, as it is, still with ":1" so the id stays when it grows.
    [one] = mapping.map_call(a_call(summary={"status": "ready", "text": "Short."}))
    assert one.external_id.endswith(":1") and one.part == (1, 1)
    assert one.values["body"] == "Short."
    # No value: one record without the field.
    [none] = mapping.map_call(a_call(summary=None))
    assert none.external_id.endswith(":1") and "body" not in none.values


@pytest.mark.parametrize(
    ("split", "key", "fragment"),
    [
        (
            '{ field = "bdy", max = 200 }',
            "objects.note.split.field",
            "'bdy' is not a field of this object (fields: when_, body, length)",
        ),
        ('{ field = "body", max = 50 }', "objects.note.split.max", "greater than or equal to 100"),
        (
            '{ field = "body", max = 200, prefix = "{part} " }',
            "objects.note.split",
            "knows {n} and {total}, not {part}",
        ),
        (
            '{ field = "body", max = 200, prefix = "' + "x" * 101 + '" }',
            "objects.note.split",
            "the prefix takes over half of max",
        ),
        ('{ field = "body", max = 200, at = "char" }', "objects.note.split.at", "'paragraph'"),
        (
            '{ field = "length", max = 200 }',
            "objects.note.split.field",
            "length gives a number; only text can be split",
        ),
    ],
)
def test_split_load_errors(tmp_path, split, key, fragment):
    body = (
        SPLIT.replace(
            'split = { field = "body", max = 200, prefix = "({n}/{total}) " }', f"split = {split}"
        )
        + 'length = "duration_seconds"\n'
    )
    found, message = load_problems(write(tmp_path, body))
    problem = next((p for p in found if p.key == key), None)
    assert problem is not None and fragment in problem.message, message
    assert problem.line == body.splitlines().index(f"split = {split}") + 1, message


def test_crm_check_knows_a_split_field_is_bounded_by_max(tmp_path):
    crm = {"calls": {"note_id": CrmField("note_id"), "when_": CrmField("when_"),
                     "body": CrmField("body", max_length=200)}, "contact": {
        "a": CrmField("a"), "email": CrmField("email")}}  # fmt: skip
    body = SPLIT.replace('source = "calls"', 'source = "calls"\ncrm_object = "calls"')
    assert check_against_crm(load_mapping(write(tmp_path, body)), crm) == []
    longer = body.replace("max = 200", "max = 300")
    [problem] = check_against_crm(load_mapping(write(tmp_path, longer)), crm)
    assert problem.kind == "too_long" and problem.field == "body"
    assert "parts of 300 characters (split); set the split's max to 200" in problem.message


# -- the shipped HubSpot note -----------------------------------------------------------


def notes(outcomes):
    return [o for o in outcomes if o.object == "note"]


def test_hubspot_note_full_transcript_in_parts():
    mapping = load_mapping(shipped_mappings()["hubspot"])
    assert mapping.variables == {"notes": "full"}
    call = a_call(transcript_chars=150_000)
    parts = notes(mapping.map_call(call))
    assert len(parts) == 3 and all(isinstance(p, MappedRecord) for p in parts)
    bodies = [p.values["hs_note_body"] for p in parts]
    assert all(len(b) <= 65536 for b in bodies)
    assert [p.external_id for p in parts] == [f"{call['id']}:{n}" for n in (1, 2, 3)]
    assert {p.values["hs_timestamp"] for p in parts} == {parts[0].values["hs_timestamp"]}
    assert all(p.links[0].to == "contact" for p in parts)
    assert "Transcript of the Revont call of" in bodies[0]
    for n, b in enumerate(bodies, start=1):
        assert b.startswith(f"<p><i>Part {n} of 3</i></p>\n")
        assert b.count("<p>") == b.count("</p>"), "cut between elements, never inside one"
    # Every segment, escaped, is in exactly one part, whole.
    joined = "\n".join(bodies)
    for segment in call["transcript"]:
        line = f"<p>{html.escape(segment['speaker'])}: {html.escape(segment['text'])}</p>"
        assert joined.count(line) >= 1, line


def test_hubspot_note_modes_and_skips():
    shipped = shipped_mappings()["hubspot"]
    full = load_mapping(shipped)
    [note] = notes(full.map_call(a_call()))
    assert note.external_id.endswith(":1") and note.part == (1, 1)
    assert "<p><i>Part" not in note.values["hs_note_body"]
    [skipped] = notes(full.map_call(a_call(prospect_email=None)))
    assert isinstance(skipped, SkippedRecord) and "prospect_email" in skipped.reason
    [skipped] = notes(full.map_call(a_call(transcript=[])))
    assert isinstance(skipped, SkippedRecord) and "transcript" in skipped.reason

    summary = load_mapping(shipped, vars={"notes": "summary"})
    pending = a_call(summary={"status": "pending", "text": None, "generated_at": None})
    [skipped] = notes(summary.map_call(pending))
    assert isinstance(skipped, SkippedRecord) and "summary.status" in skipped.reason
    ready = a_call(
        summary={
            "status": "ready",
            "text": "Pricing <agreed>.\nNext: demo.",
            "generated_at": "2026-11-30T12:00:00Z",
        }
    )
    [note] = notes(summary.map_call(ready))
    body = note.values["hs_note_body"]
    assert "Summary of the Revont call" in body
    assert "<p>Pricing &lt;agreed&gt;.<br>\nNext: demo.</p>" in body

    off = load_mapping(shipped, vars={"notes": "off"})
    [skipped] = notes(off.map_call(a_call()))
    assert isinstance(skipped, SkippedRecord) and "vars.notes in" in skipped.reason
    assert not [o for o in off.map_call(a_call()) if isinstance(o, FailedRecord)]
    assert off.reads == full.reads  # variables decide nothing about what is read


def test_preview_shows_the_parts(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=10)
    config = tmp_path / "revont-sync.toml"
    config.write_text(f'[revont]\nbase_url = "{sandbox.api_url}"\n[adapters.hubspot]\n')
    env = {"REVONT_API_KEY": sandbox.read_key, "HUBSPOT_ACCESS_TOKEN": "pat"}
    email = sandbox.workspace.contacts.by_id[next(iter(sandbox.workspace.contacts.by_id))]["email"]
    call = sandbox.add_call(duration_seconds=600, prospect_email=email, _transcript_chars=140_000)
    result = run(
        "--config", str(config), "preview", "--adapter", "hubspot", "--call", call["id"], env=env
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "note (part 1 of 3)" in out and "note (part 3 of 3)" in out
    assert "characters)" in out  # each part's length
    result = run(
        "--config",
        str(config),
        "preview",
        "--adapter",
        "hubspot",
        "--call",
        call["id"],
        "--json",
        env=env,
    )
    [entry] = json.loads(result.output)
    parts = [o for o in entry["outcomes"] if o["object"] == "note"]
    assert [p["part"] for p in parts] == [{"n": n, "total": 3} for n in (1, 2, 3)]
    assert [p["external_id"] for p in parts] == [f"{call['id']}:{n}" for n in (1, 2, 3)]
