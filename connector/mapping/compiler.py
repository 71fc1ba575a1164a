"""Load a mapping file once, check everything, and compile it into plain functions.

:func:`load_mapping` reads the TOML, validates its shape (:mod:`spec`), every
source path (:mod:`paths`), transform chain (:mod:`transforms`), template and
condition (:mod:`templates`), and reports all problems at once, each with its
key path and line. The result, a :class:`Mapping`, is pure: applying it to a
record reads nothing else and writes nothing, so it can run 20,000 calls a
second and be previewed safely.

Applying a mapping never raises for one bad record: each object gives a
:class:`MappedRecord`, a :class:`SkippedRecord` (a ``when`` condition does not
hold) or a :class:`FailedRecord` (a value could not be produced), so one
malformed call fails alone. An object with ``split`` gives one
:class:`MappedRecord` per part of its long field instead of one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connector.errors import ConfigProblem, MappingError
from connector.mapping.paths import (
    ANY,
    BOOL,
    DETAIL_FIELDS,
    LIST,
    NUMBER,
    OBJECT,
    SOURCES,
    STR,
    PathError,
    SourcePath,
    compile_path,
    root_names,
)
from connector.mapping.spec import FieldSpec, MappingSpec, ObjectSpec, VarValue, locate
from connector.mapping.templates import (
    TemplateError,
    compile_condition,
    compile_template,
    fields_below,
    make_environment,
)
from connector.mapping.text import split_text
from connector.mapping.transforms import (
    MappingOptions,
    Transform,
    TransformConfigError,
    TruncatedStr,
    accepts,
    load_transforms,
)


@dataclass(frozen=True)
class Link:
    """This record should be linked to the ``to`` object whose natural key is ``value``."""

    to: str
    value: Any
    field: str | None = None


@dataclass(frozen=True)
class MappedRecord:
    """A CRM record ready to upsert, keyed by the Revont id in ``external_id_field``."""

    object: str
    crm_object: str
    source: str
    source_id: str | None
    external_id_field: str
    external_id: str
    values: dict[str, Any]
    links: tuple[Link, ...] = ()
    truncated: tuple[str, ...] = ()
    #: (n, total) when the object splits a long value into several records.
    part: tuple[int, int] | None = None


@dataclass(frozen=True)
class SkippedRecord:
    """Not for the CRM: a ``when`` condition of the object does not hold."""

    object: str
    source: str
    source_id: str | None
    reason: str


@dataclass(frozen=True)
class FailedRecord:
    """The mapping could not produce this record; ``reason`` says which field and why."""

    object: str
    source: str
    source_id: str | None
    field: str | None
    reason: str


Outcome = MappedRecord | SkippedRecord | FailedRecord
Step = tuple[Callable[[Any], Any], bool]  # (apply, handles None)


@dataclass(frozen=True)
class CompiledField:
    name: str
    read: Callable[[dict[str, Any]], Any]
    steps: tuple[Step, ...]
    default: Any
    required: bool
    #: The longest value this field can produce, when known (a truncate, a constant, a map).
    max_length: int | None
    #: Every value the field can produce, when it is a constant or a map (picklist checks).
    possible_values: frozenset[Any] | None
    source_kind: str  # path | value | template
    kind: str = ANY  # the type of value it produces (str, number...)


@dataclass(frozen=True)
class SplitPlan:
    """An object's ``split``: one record per part of ``field``'s text (see :mod:`.text`)."""

    field: str
    max: int
    prefix: str
    at: str

    def apply(self, record: MappedRecord) -> list[MappedRecord]:
        """One record per part, its external id suffixed ``:n`` (also when there is one part,
        so the ids stay when the text grows); the other values are the same in each."""
        value = record.values.get(self.field)
        if not isinstance(value, str):
            return [replace(record, external_id=f"{record.external_id}:1", part=(1, 1))]
        parts = split_text(value, self.max, at=self.at, prefix=self.prefix)
        return [
            replace(
                record,
                external_id=f"{record.external_id}:{n}",
                values={**record.values, self.field: text},
                part=(n, len(parts)),
            )
            for n, text in enumerate(parts, start=1)
        ]


@dataclass
class CompiledObject:
    name: str
    crm_object: str
    source: str
    external_id_field: str
    id_path: SourcePath
    conditions: list[tuple[str, Callable[[dict[str, Any]], bool]]]
    links: list[tuple[str, SourcePath, tuple[Step, ...], str | None]]
    fields: list[CompiledField]
    split: SplitPlan | None = None
    #: A ``when`` condition on variables alone that is false: the object writes nothing.
    skipped_by: str | None = None

    def __post_init__(self) -> None:
        # The per-record loop reads plain tuples, not attributes: it runs for every record.
        self._plan = [(f.name, f.read, f.steps, f.default, f.required) for f in self.fields]

    def apply(self, record: dict[str, Any]) -> Outcome:
        source_id = self.id_path.get(record)
        source_id = None if source_id is None else str(source_id)
        for text, test in self.conditions:
            try:
                holds = test(record)
            except Exception as exc:  # a condition over odd data: the record fails, saying why
                return FailedRecord(
                    self.name, self.source, source_id, None,
                    f"when {text!r} could not be evaluated ({type(exc).__name__}: {exc})",
                )  # fmt: skip
            if not holds:
                return SkippedRecord(self.name, self.source, source_id, f"when {text!r} is false")
        if source_id is None:
            return FailedRecord(self.name, self.source, None, None, "the record has no id")
        values: dict[str, Any] = {}
        truncated: list[str] = []
        for name, read, steps, default, required in self._plan:
            cut = False
            try:
                value = read(record)
                for apply, handles_none in steps:
                    if value is None and not handles_none:
                        continue
                    value = apply(value)
                    if type(value) is TruncatedStr:
                        cut = True
                        value = str(value)
            except Exception as exc:  # one bad value fails this record, not the run
                return FailedRecord(
                    self.name, self.source, source_id, name,
                    f"{name}: {type(exc).__name__}: {exc}",
                )  # fmt: skip
            if value is None or value == "":
                value = default
                if value is None:
                    if required:
                        return FailedRecord(
                            self.name, self.source, source_id, name,
                            f"{name}: required, but the record has no value for it",
                        )  # fmt: skip
                    continue
            if cut:
                truncated.append(name)
            values[name] = value
        links = []
        for to, path, steps, crm_field in self.links:
            value = path.get(record)
            try:
                for apply, _ in steps:
                    if value is not None:
                        value = apply(value)
            except Exception as exc:
                return FailedRecord(
                    self.name, self.source, source_id, None,
                    f"link to {to} by {path.text}: {type(exc).__name__}: {exc}",
                )  # fmt: skip
            if isinstance(value, str | int) and value != "":
                links.append(Link(to, value, crm_field))
        return MappedRecord(
            self.name, self.crm_object, self.source, source_id, self.external_id_field,
            source_id, values, tuple(links), tuple(truncated),
        )  # fmt: skip


@dataclass
class Mapping:
    """A loaded, checked, compiled mapping."""

    path: Path
    objects: dict[str, CompiledObject]
    options: MappingOptions
    #: Top-level Revont fields each source stream's records are read for.
    reads: dict[str, frozenset[str]] = field(default_factory=dict)
    #: The variables templates and conditions read (``[vars]`` with any overrides).
    variables: dict[str, VarValue] = field(default_factory=dict)

    def objects_for(self, source: str) -> list[CompiledObject]:
        return [obj for obj in self.objects.values() if obj.source == source]

    @property
    def needs_call_detail(self) -> bool:
        """Whether any object needs ``GET /calls/{id}`` (transcript, summary, action items,
        or a Revont field revont-sync does not know, which may only be in the detail)."""
        known_list_fields = set(SOURCES["calls"]) - DETAIL_FIELDS
        return bool(self.objects_for("action_items")) or bool(
            self.reads.get("calls", frozenset()) - known_list_fields
        )

    def map_contact(self, contact: dict[str, Any]) -> list[Outcome]:
        return [o for obj in self.objects_for("contacts") for o in _apply(obj, contact)]

    def map_call(self, call: dict[str, Any]) -> list[Outcome]:
        """The call's own objects, then one outcome per action item per action-item object.

        Never raises for a malformed call: each object reports its own failure.
        """
        outcomes = [o for obj in self.objects_for("calls") for o in _apply(obj, call)]
        item_objects = self.objects_for("action_items")
        items = call.get("action_items") if isinstance(call, dict) else None
        if item_objects and items is not None:
            if not isinstance(items, list):
                return outcomes + [
                    FailedRecord(obj.name, obj.source, None, None,
                                 f"action_items is {type(items).__name__}, not a list")
                    for obj in item_objects
                ]  # fmt: skip
            for item in items:
                record = {**item, "call": call} if isinstance(item, dict) else item
                for obj in item_objects:
                    outcomes.extend(_apply(obj, record))
        return outcomes


def _apply(obj: CompiledObject, record: Any) -> list[Outcome]:
    if not isinstance(record, dict):
        return [FailedRecord(obj.name, obj.source, None, None,
                             f"the record is {type(record).__name__}, not an object")]  # fmt: skip
    try:
        outcome = obj.apply(record)
        if obj.split is None or not isinstance(outcome, MappedRecord):
            return [outcome]
        return list(obj.split.apply(outcome))
    except Exception as exc:  # a bug or a value no check foresaw: still only this record
        source_id = record.get("id")
        return [FailedRecord(obj.name, obj.source, str(source_id) if source_id else None, None,
                             f"{type(exc).__name__}: {exc}")]  # fmt: skip


def load_mapping(
    path: Path | str,
    *,
    maps: AbcMapping[str, AbcMapping[str, Any]] | None = None,
    vars: AbcMapping[str, VarValue] | None = None,
    transforms: dict[str, Transform] | None = None,
    vars_key: str = "vars",
) -> Mapping:
    """Read and compile a mapping file; raise :class:`MappingError` listing every problem.

    ``maps`` (from the adapter's configuration, e.g. an ``owners`` table) are laid
    over the file's ``[maps]``. ``vars`` (from the configuration too) replace
    values of the file's ``[vars]``: each must be declared there, with the same
    type (text, number or boolean), else it is a problem reported as
    ``<vars_key>.<name>`` (e.g. ``adapters.hubspot.vars.notes``).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(
            str(path), [ConfigProblem("", f"cannot read the mapping file ({exc.strerror})")]
        ) from None
    except UnicodeDecodeError:
        raise MappingError(str(path), [ConfigProblem("", "not UTF-8 text")]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(str(path), [ConfigProblem("", f"invalid TOML: {exc}")]) from None
    try:
        spec = MappingSpec.model_validate(raw)
    except ValidationError as exc:
        raise MappingError(str(path), _shape_problems(exc, text)) from None
    merged = {name: dict(table) for name, table in spec.maps.items()}
    for name, table in (maps or {}).items():
        merged.setdefault(name, {}).update(table)  # per key: the file's default stays
    variables, problems = _override_vars(spec.vars, vars or {}, vars_key)
    compiler = _Compiler(spec, text, merged, transforms, variables)
    objects = {name: compiler.compile_object(name, obj) for name, obj in spec.objects.items()}
    problems += compiler.problems
    if problems:
        raise MappingError(str(path), problems)
    return Mapping(path, objects, compiler.options, reads=compiler.reads(), variables=variables)


def _override_vars(
    declared: dict[str, VarValue], given: AbcMapping[str, VarValue], key: str
) -> tuple[dict[str, VarValue], list[ConfigProblem]]:
    """The file's variables with the configuration's values laid over them, and what is
    wrong with those values (undeclared, so most likely a typo, or of another type)."""
    variables, problems = dict(declared), []
    for name, value in given.items():
        if name not in declared:
            known = ", ".join(declared) or "none"
            problems.append(ConfigProblem(
                f"{key}.{name}",
                f"the mapping declares no variable {name!r} in its [vars] (it has: {known})",
            ))  # fmt: skip
        elif _var_type(value) != _var_type(declared[name]):
            problems.append(ConfigProblem(
                f"{key}.{name}",
                f"{name} is {_var_type(declared[name])} in the mapping "
                f"({declared[name]!r}), so {value!r} cannot replace it",
            ))  # fmt: skip
        else:
            variables[name] = value
    return variables, problems


def _var_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "text"


def _union_tag(part: str) -> bool:
    """pydantic's names for the members of a union in an error location (``str``, ``int``...)."""
    return part in {"str", "int", "float", "bool", "none"} or part.startswith(
        ("function-", "dict[", "list[")
    )


def _shape_problems(exc: ValidationError, text: str) -> list[ConfigProblem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if not _union_tag(str(p))]
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        if ": " in message and message.split(": ", 1)[0].startswith("objects."):
            key, message = message.split(": ", 1)
            loc = key.split(".")
        problems.append(ConfigProblem(".".join(loc), message, locate(text, loc)))
    return problems


class _Compiler:
    def __init__(
        self,
        spec: MappingSpec,
        text: str,
        maps: dict[str, Any],
        transforms: dict[str, Transform] | None,
        variables: dict[str, VarValue] | None = None,
    ) -> None:
        self.text = text
        self.problems: list[ConfigProblem] = []
        self.options = MappingOptions(
            timezone=spec.options.timezone,
            name_placeholder=spec.options.name_placeholder,
            truncation_marker=spec.options.truncation_marker,
            maps=maps,
        )
        try:
            self.transforms = transforms if transforms is not None else load_transforms()
        except TransformConfigError as exc:
            self.transforms = {}
            self.problem(["transforms"], str(exc))
        self.env = make_environment(self.transforms, self.options, variables)
        self._reads: dict[str, set[str]] = {}

    def problem(self, loc: list[str], message: str) -> None:
        self.problems.append(ConfigProblem(".".join(loc), message, locate(self.text, loc)))

    def reads(self) -> dict[str, frozenset[str]]:
        return {source: frozenset(names) for source, names in self._reads.items()}

    def _note_reads(self, source: str, names: set[str], tree: Any = None) -> None:
        self._reads.setdefault(source, set()).update(names)
        if source == "action_items":
            # Action items come from the call's detail; their "call" reads are call reads.
            calls = self._reads.setdefault("calls", set())
            calls.add("action_items")
            if "call" in names and tree is not None:
                below = fields_below(tree, "call")
                calls.update(SOURCES["calls"] if below is None else below)

    def compile_object(self, name: str, obj: ObjectSpec) -> CompiledObject:
        loc = ["objects", name]
        allowed = root_names(obj.source)
        id_path = self.path(obj.id, obj.source, [*loc, "id"]) or compile_path("id", obj.source)
        conditions: list[tuple[str, Callable[[dict[str, Any]], bool]]] = []
        skipped_by: str | None = None
        for i, text in enumerate(obj.when):
            try:
                test, names, tree = compile_condition(self.env, text, allowed)
            except TemplateError as exc:
                self.problem([*loc, "when", str(i)], f"{text!r} {exc}")
                continue
            self._note_reads(obj.source, names, tree)
            simpler = _simplify_condition(text, test, names, obj.source)
            if simpler is True:  # on variables alone, and holds: nothing to test per record
                continue
            if simpler is False:  # on variables alone, and false: every record is skipped
                skipped_by = skipped_by or text
                conditions.append((text, _never))
            else:
                conditions.append((text, simpler or test))
        links = []
        for i, link in enumerate(obj.links):
            link_loc = [*loc, "links", str(i)]
            path = self.path(link.by, obj.source, [*link_loc, "by"])
            chain = self.chain(link.transforms, path.type, link_loc, link.by) if path else None
            if path is not None and chain is not None:
                links.append((link.to, path, chain[0], link.field))
        fields = []
        for field_name, raw in obj.fields.items():
            compiled = self.compile_field(field_name, raw, obj.source,
                                          [*loc, "fields", field_name])  # fmt: skip
            if compiled is not None:
                fields.append(compiled)
        split = self.split(obj, fields, loc)
        return CompiledObject(
            name, obj.crm_object or name, obj.source, obj.external_id, id_path,
            conditions, links, fields, split, skipped_by,
        )  # fmt: skip

    def split(
        self, obj: ObjectSpec, fields: list[CompiledField], loc: list[str]
    ) -> SplitPlan | None:
        """Check ``split`` and bound the split field's length by ``max`` (for CRM checks)."""
        spec = obj.split
        if spec is None:
            return None
        if spec.field not in obj.fields:
            self.problem(
                [*loc, "split", "field"],
                f"{spec.field!r} is not a field of this object (fields: {', '.join(obj.fields)})",
            )
            return None
        for i, compiled in enumerate(fields):
            if compiled.name != spec.field:
                continue
            if compiled.kind in (NUMBER, BOOL):
                kind = f"{spec.field} gives a {compiled.kind}"
                self.problem([*loc, "split", "field"], f"{kind}; only text can be split")
                return None
            longest = (
                spec.max if compiled.max_length is None else min(compiled.max_length, spec.max)
            )
            fields[i] = replace(compiled, max_length=longest)
        return SplitPlan(spec.field, spec.max, spec.prefix, spec.at)

    def path(self, text: str, source: str, loc: list[str]) -> SourcePath | None:
        try:
            path = compile_path(text, source)
        except PathError as exc:
            self.problem(loc, str(exc))
            return None
        self._note_reads(source, {path.root})
        if source == "action_items" and path.root == "call" and len(path.steps) > 1:
            self._reads.setdefault("calls", set()).add(str(path.steps[1]))
        return path

    def chain(
        self,
        entries: list[str | dict[str, Any]],
        kind: str,
        loc: list[str],
        origin: str,
        possible: frozenset[Any] | None = None,
        max_length: int | None = None,
    ) -> tuple[tuple[Step, ...], str, frozenset[Any] | None, int | None] | None:
        """Check and build a transform chain; also track what it can produce
        (possible values, longest length) for checks against the CRM's fields."""
        steps: list[Step] = []
        for i, entry in enumerate(entries):
            tname, arg = (entry, None) if isinstance(entry, str) else next(iter(entry.items()))
            tloc = [*loc, "transforms", str(i)]
            transform = self.transforms.get(tname)
            if transform is None:
                known = ", ".join(sorted(self.transforms))
                self.problem(tloc, f"unknown transform {tname!r} (known: {known})")
                return None
            if not accepts(transform, kind):
                after = f" after {i} transform(s)" if i else ""
                self.problem(
                    tloc,
                    f"{tname} takes {' or '.join(transform.accepts)}, but gets {kind} "
                    f"(from {origin}{after})",
                )
                return None
            try:
                apply = transform.build(arg, self.options)
            except (TransformConfigError, ValueError) as exc:
                self.problem(tloc, f"{tname}: {exc}")
                return None
            steps.append((apply, transform.handles_none))
            kind = transform.returns
            if tname == "map":
                table = self.options.maps.get(arg) if isinstance(arg, str) else arg
                values = [v for k, v in (table or {}).items()]
                possible = _hashable(values)
                max_length = max((len(str(v)) for v in values), default=0)
            elif tname == "truncate":
                possible, max_length = None, getattr(apply, "max_length", None)
            else:
                possible, max_length = None, None
        return tuple(steps), kind, possible, max_length

    def compile_field(
        self, name: str, spec: FieldSpec, source: str, loc: list[str]
    ) -> CompiledField | None:
        possible: frozenset[Any] | None = None
        max_length: int | None = None
        if spec.path is not None:
            path = self.path(spec.path, source, [*loc, "path"])
            if path is None:
                return None
            read: Callable[[dict[str, Any]], Any] = path.get
            kind, source_kind = path.type, "path"
        elif spec.template is not None:
            try:
                render, names, tree = compile_template(self.env, spec.template, root_names(source))
            except TemplateError as exc:
                self.problem([*loc, "template"], str(exc))
                return None
            self._note_reads(source, names, tree)
            read = _template_reader(render)
            kind, source_kind = STR, "template"
        else:
            constant = spec.value
            read = lambda record: constant  # noqa: E731
            kind, source_kind = _kind_of(constant), "value"
            possible = _hashable([constant])
            max_length = len(str(constant))
        origin = spec.path or spec.template or repr(spec.value)
        chain = self.chain(spec.transforms, kind, loc, origin, possible, max_length)
        if chain is None:
            return None
        steps, kind, possible, max_length = chain
        if kind in (OBJECT, LIST):
            self.problem(
                loc,
                f"{origin} is {'an object' if kind == OBJECT else 'a list'}; a CRM field "
                "takes a value: pick a field of it (summary.text) or render it "
                "(transcript_text, action_items_text, join, a template)",
            )
            return None
        if spec.default is not None:
            possible = None if possible is None else possible | {spec.default}
            if max_length is not None:
                max_length = max(max_length, len(str(spec.default)))
        return CompiledField(
            name, read, tuple(steps), spec.default, spec.required, max_length, possible,
            source_kind, kind,
        )  # fmt: skip


def _simplify_condition(
    text: str, test: Callable[[dict[str, Any]], bool], names: set[str], source: str
) -> Callable[[dict[str, Any]], bool] | bool | None:
    """A cheaper equivalent of a condition, evaluated for every record: its value when it
    reads no field (only variables), a plain read when it is a bare path
    (``prospect_email``); else None."""
    if not names:
        try:
            return test({})
        except Exception:  # fails the same way for every record: let each record say so
            return None
    try:
        path = compile_path(text, source)
    except PathError:
        return None
    get = path.get
    return lambda record: bool(get(record))


def _never(record: dict[str, Any]) -> bool:
    return False


def _hashable(values: Iterable[Any]) -> frozenset[Any] | None:
    try:
        return frozenset(values)
    except TypeError:  # a map to lists or tables: nothing to compare with a picklist
        return None


def _template_reader(render: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], Any]:
    """A template's text, or None when it renders to nothing but white space."""

    def read(record: dict[str, Any]) -> str | None:
        text = render(record)
        return text if text and not text.isspace() else None

    return read


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STR
    return ANY
