"""Salesforce record ids: a three-character key prefix, fifteen case-sensitive characters,
and a three-character suffix that makes the eighteen-character form case-insensitive.

Every id the sandbox hands out is the 18-character form. Ids arriving in requests may
be either form, in any case for the 18-character one (as Salesforce accepts them);
:func:`normalize` turns both into the stored form, or None when the text is no id.
"""

from __future__ import annotations

import random
import re
import string

_ALNUM = re.compile(r"[0-9A-Za-z]+")
_SUFFIX = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

#: Key prefixes of the objects the sandbox serves, and of the other ids it issues.
KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Lead": "00Q",
    "Task": "00T",
    "ContentNote": "069",
    "ContentDocumentLink": "06A",
    "Organization": "00D",
    "QueryLocator": "01g",
    "BulkJob": "750",
}


def checksum(id15: str) -> str:
    """The three characters Salesforce appends to a 15-character id."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX[bits]
    return suffix


def normalize(raw: str) -> str | None:
    """The 18-character id ``raw`` names (15 characters, or 18 in any case), or None."""
    if not isinstance(raw, str) or not _ALNUM.fullmatch(raw):
        return None
    if len(raw) == 15:
        return raw + checksum(raw)
    if len(raw) != 18:
        return None
    suffix = raw[15:].upper()
    chars = list(raw[:15])
    for chunk in range(3):
        bits = _SUFFIX.find(suffix[chunk])
        if bits < 0:
            return None
        for position in range(5):
            index = chunk * 5 + position
            upper = bool(bits >> position & 1)
            chars[index] = chars[index].upper() if upper else chars[index].lower()
    fixed = "".join(chars)
    return fixed + suffix if checksum(fixed) == suffix else None


def prefix_of(record_id: str) -> str:
    return record_id[:3]


class IdFactory:
    """Fresh ids for one org: ``prefix + "Rv" + base 62 counter``, with seeded gaps."""

    def __init__(self, rng: random.Random, pod: str = "Rv") -> None:
        self.rng = rng
        self.pod = pod
        self._next = 1_000 + rng.randrange(50_000)

    def new(self, prefix: str) -> str:
        self._next += self.rng.randint(1, 61)
        number, digits = self._next, ""
        while number:
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        id15 = prefix + self.pod + digits.rjust(10, "0")
        return id15 + checksum(id15)
