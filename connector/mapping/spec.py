"""The mapping file's format, as pydantic models, and where in the file a key stands.

A mapping file (TOML)::

    version = 1

    [options]                      # optional
    timezone = "Europe/Berlin"     # for date, epoch_ms of dates, to_timezone
    name_placeholder = "Unknown"   # first_name / last_name of a nameless person
    truncation_marker = "…"

    [maps.dispositions]            # named value maps for the `map` transform
    won = "..."
    default = "..."

    [vars]                         # settings templates and conditions read as vars.<name>
    notes = "full"                 # (text, number or boolean; the adapter's config may
                                   # override a declared one)

    [objects.call]                 # one table per CRM object type
    source = "calls"               # contacts | calls | action_items
    crm_object = "calls"           # the CRM's name for it (default: the table name)
    external_id = "revont_call_id" # CRM field holding the Revont id (idempotent upserts)
    id = "id"                      # source path of that id (default "id")
    when = ["prospect_email", "duration_seconds >= 30"]   # all must hold, else skipped
    links = [{ to = "contact", by = "prospect_email" }]   # -> object "contact" by email
    # One CRM record per part of a long value (ids "<id>:1", "<id>:2"...):
    split = { field = "hs_call_body", max = 65536, prefix = "Part {n} of {total}\\n" }

    [objects.call.fields]          # CRM field = how to get its value
    hs_call_title = "summary.text"                                     # a source path
    hs_call_status = { value = "COMPLETED" }                           # a constant
    hs_call_body = { template = "{{ summary.text }}", transforms = [{ truncate = 65536 }] }
    hs_timestamp = { path = "created_at", transforms = ["epoch_ms"], required = true }
    hs_call_disposition = { path = "outcome", transforms = [{ map = "dispositions" }],
                            default = "..." }
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OptionsSpec(_Strict):
    timezone: str = "UTC"
    name_placeholder: str = "Unknown"
    truncation_marker: str = "…"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use a name like 'Europe/Berlin')"
                             ) from None  # fmt: skip
        return value


class FieldSpec(_Strict):
    """One CRM field: exactly one of ``path``, ``value`` or ``template``."""

    path: str | None = None
    value: str | int | float | bool | None = None
    template: str | None = None
    transforms: list[str | dict[str, Any]] = Field(default_factory=list)
    #: Used when the value comes out None or empty.
    default: str | int | float | bool | None = None
    #: A record whose value is still missing fails (instead of omitting the field).
    required: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [k for k in ("path", "value", "template") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of path, value or template"
                + (f" (got {', '.join(given)})" if given else "")
            )
        for step in self.transforms:
            if isinstance(step, dict) and len(step) != 1:
                raise ValueError(
                    "each transform is a name or a one-key table like { truncate = 255 }"
                )
        return self


class LinkSpec(_Strict):
    """This record points at a record of another object of the mapping.

    ``by`` is a path to the value that identifies the target: for a contact its
    email, for a call or action item its Revont id. ``transforms`` normalise it
    the way the target's own field is normalised (e.g. ``["email"]``).
    """

    to: str
    by: str
    transforms: list[str | dict[str, Any]] = Field(default_factory=list)
    #: The CRM field that holds the link (e.g. WhoId), if the CRM links by field.
    field: str | None = None


#: The type of a mapping variable (``[vars]``).
VarValue = str | int | float | bool

_VAR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
#: The widest part numbers a split prefix is checked with.
_WIDEST_PART = "999999"


class SplitSpec(_Strict):
    """Write a long value of ``field`` as several records of at most ``max`` characters.

    ``prefix`` starts every part when there are two or more, with ``{n}`` and
    ``{total}`` replaced (and counted in ``max``); ``at`` is the coarsest cut to
    try (default: paragraph, then line, sentence, word, grapheme).
    """

    field: str
    max: int = Field(ge=100)
    prefix: str = ""
    at: Literal["paragraph", "line", "sentence", "word"] = "paragraph"

    @model_validator(mode="after")
    def _prefix_fits(self) -> Self:
        unknown = [p for p in _PLACEHOLDER.findall(self.prefix) if p not in ("{n}", "{total}")]
        if unknown:
            raise ValueError(f"the prefix knows {{n}} and {{total}}, not {', '.join(unknown)}")
        widest = self.prefix.replace("{n}", _WIDEST_PART).replace("{total}", _WIDEST_PART)
        if len(widest) * 2 > self.max:
            raise ValueError(f"the prefix takes over half of max ({self.max})")
        return self


class ObjectSpec(_Strict):
    source: Literal["contacts", "calls", "action_items"]
    crm_object: str | None = None
    external_id: str
    id: str = "id"
    when: list[str] = Field(default_factory=list)
    links: list[LinkSpec] = Field(default_factory=list)
    split: SplitSpec | None = None
    fields: dict[str, FieldSpec]

    @field_validator("fields", mode="before")
    @classmethod
    def _path_shorthand(cls, value: Any) -> Any:
        """``field = "a.b"`` is short for ``field = { path = "a.b" }``."""
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class MappingSpec(_Strict):
    version: Literal[1]
    options: OptionsSpec = Field(default_factory=OptionsSpec)
    maps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    vars: dict[str, VarValue] = Field(default_factory=dict)
    objects: dict[str, ObjectSpec]

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict[str, VarValue]) -> dict[str, VarValue]:
        bad = [name for name in value if not _VAR_NAME.match(name)]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))}: a variable's name is letters, digits and _, "
                "starting with a letter (it is read as vars.<name>)"
            )
        return value

    @model_validator(mode="after")
    def _links_resolve(self) -> Self:
        for name, obj in self.objects.items():
            for i, link in enumerate(obj.links):
                if link.to not in self.objects:
                    raise ValueError(
                        f"objects.{name}.links.{i}.to: no object {link.to!r} in this mapping "
                        f"(objects: {', '.join(self.objects)})"
                    )
        return self


_HEADER = re.compile(r"^\s*\[{1,2}\s*([^\]]+?)\s*\]{1,2}\s*(#.*)?$")
_KEY = re.compile(r'^\s*("?)([^"=\s]+)\1\s*=')


def _split_header(header: str) -> list[str]:
    return [part.strip().strip('"') for part in header.split(".")]


def locate(text: str, key_path: list[str]) -> int | None:
    """The 1-based line of ``key_path`` in the TOML ``text``, or of its nearest table.

    Best effort: tables (``[objects.call.fields]``) and ``key =`` lines are
    found, lines inside multi-line strings are not mistaken for either, and a
    key inside an inline table is reported at the line of its parent.
    """
    best: tuple[int, int] | None = None  # (matched depth, line)
    current: list[str] = []
    in_string: str | None = None  # the quotes of the multi-line string we are in
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        key = None if header else _KEY.match(line)
        if header:
            current = _split_header(header.group(1))
            full = current
        elif key:
            full = [*current, *key.group(2).split(".")]
        if header or key:
            depth = _common(full, key_path)
            if depth == len(full) and (best is None or depth > best[0]):
                best = (depth, number)
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_string = quote
                break
    return best[1] if best else None


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
