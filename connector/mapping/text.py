"""Cutting text where a reader would: the shared core of ``truncate`` and of split objects.

A cut falls at the best boundary there is room for, from the coarsest:

==========  ==============================================================
paragraph   a blank line (or U+2029)
line        a line break
sentence    after ``.``, ``!``, ``?``, ``…`` or their CJK forms, before white space
word        a breakable space (not a no-break space)
char        a grapheme cluster boundary: what a reader sees as one character
            ("e" + combining accent, "👍🏽", a flag, a ZWJ family) is never split
==========  ==============================================================

A paragraph, line or sentence cut that would keep less than half the room
falls back to the next finer kind (so a blank line near the start does not
make a tiny part); a word cut needs one space anywhere; the grapheme cut
always exists, except for a single grapheme cluster longer than the room,
which only contrived text has.

Everything here is linear in the text: a boundary is found by searching
backwards from the limit with :mod:`regex` (in C), and grapheme clusters are
matched only from the nearest position that is certainly a cluster boundary.
"""

from __future__ import annotations

import regex

#: Kinds of boundary, coarsest first. "char" is a grapheme cluster boundary.
LEVELS = ("paragraph", "line", "sentence", "word", "char")

_GRAPHEME = regex.compile(r"\X")
# A position between two characters that is a grapheme boundary whatever surrounds it:
# both are Grapheme_Cluster_Break Other, Control or LF (or CR after: CR LF is one cluster).
# No rule joins such neighbours (the joining rules all need an Extend, ZWJ, SpacingMark,
# Prepend, regional indicator or Hangul character on one side). Searched backwards.
_CERTAIN = regex.compile(
    r"(?r)(?<=[\p{GCB=XX}\p{GCB=CN}\p{GCB=LF}])(?=[\p{GCB=XX}\p{GCB=CN}\p{GCB=LF}\p{GCB=CR}])"
)
# Regional indicators pair into flags from the start of their run; \X over a long run
# takes time quadratic in its length, so boundaries inside one are counted instead.
_INDICATORS_BEFORE = regex.compile(r"(?r)\p{GCB=Regional_Indicator}+")
_SPACE_AFTER = regex.compile(r"\s+")
_SPACE_BEFORE = regex.compile(r"(?r)\s+")
_FINDERS = {
    "paragraph": regex.compile(r"(?r)\n[^\S\n]*\n|\u2029"),
    "line": regex.compile(r"(?r)[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]"),
    # Sentence ends: . ! ? … and the ideographic full stop, exclamation and question marks.
    "sentence": regex.compile(r"(?r)[.!?\u2026\u3002\uff01\uff1f](?=\s)"),
    # Breakable white space: not the no-break spaces (U+00A0, U+2007, U+202F).
    "word": regex.compile(r"(?r)[^\S\u00a0\u2007\u202f]"),
}
#: Kinds whose cut must keep at least half the room.
_HALF_FULL = frozenset({"paragraph", "line", "sentence"})


def levels_from(at: str) -> tuple[str, ...]:
    """``at`` and every finer kind of boundary, to try in that order."""
    return LEVELS[LEVELS.index(at) :]


def last_boundary(text: str, start: int, pos: int) -> int:
    """The last grapheme boundary at or before ``pos`` and not before ``start``
    (which must itself be a boundary)."""
    if pos >= len(text):
        return len(text)
    if pos <= start:
        return start
    found = _CERTAIN.search(text, start, pos + 1)  # the lookbehind sees from start on
    anchor = found.start() if found else start
    if pos - anchor > 2:
        run = _INDICATORS_BEFORE.match(text, anchor, pos)  # the indicators just before pos
        if run is not None:
            # The run starts at run.start() (or at anchor, a boundary): a boundary falls
            # after each pair; take the last one with an indicator after it.
            pair = run.start() + (pos - run.start()) // 2 * 2
            pair -= 2 if pair == pos else 0
            anchor = max(anchor, pair)
    last = anchor
    if anchor < pos:
        for cluster in _GRAPHEME.finditer(text, anchor):
            if cluster.end() > pos:
                break
            last = cluster.end()
    return last


def find_cut(text: str, start: int, room: int, levels: tuple[str, ...]) -> tuple[int, int]:
    """Where to end a piece of ``text`` that starts at ``start`` and holds at most
    ``room`` characters: ``(end, resume)``, the piece being ``text[start:end]`` and
    the rest starting at ``resume``, after the white space at the cut.

    ``end == start`` when not even one grapheme cluster fits.
    """
    limit = last_boundary(text, start, start + room)
    for level in levels:
        if level == "char":
            return limit, _skip_space(text, limit)
        found = _FINDERS[level].search(text, start, limit + 1)
        if found is None:
            continue
        end = found.end() if level == "sentence" else found.start()
        space = _SPACE_BEFORE.match(text, start, end)
        end = space.start() if space else end  # the white space before the break goes too
        if end > limit or end <= start:
            continue
        if level in _HALF_FULL and (end - start) * 2 < room:
            continue
        if last_boundary(text, start, end) != end:
            continue  # e.g. after a Prepend character, which joins what follows it
        return end, _skip_space(text, end)
    return limit, _skip_space(text, limit)


def _skip_space(text: str, pos: int) -> int:
    """Past the white space at ``pos`` (a boundary), to the last boundary in it (a space
    carrying a combining mark belongs to the text after it)."""
    space = _SPACE_AFTER.match(text, pos)
    return last_boundary(text, pos, space.end()) if space else pos


def truncate_text(text: str, limit: int, *, at: str = "word", marker: str = "…") -> str:
    """At most ``limit`` characters (the marker included), never splitting a grapheme.

    ``at`` picks the coarsest cut to try (see the module docstring): ``word``
    cuts at the last breakable space within the room left for the marker,
    ``sentence`` after the last sentence end, and so on; without one, the next
    finer kind is used, down to any grapheme boundary (``char``).
    """
    if len(text) <= limit:
        return text
    room = limit - len(marker)
    if room <= 0:
        return marker[:limit] if len(marker) <= limit else ""
    end, _ = find_cut(text, 0, room, levels_from(at))
    return text[:end] + marker


def split_text(text: str, limit: int, *, at: str = "paragraph", prefix: str = "") -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, each cut at the best boundary
    (see the module docstring), the white space at each cut dropped.

    Text within the limit is one piece, as it is. Otherwise each piece starts
    with ``prefix``, its ``{n}`` and ``{total}`` replaced by the piece's number
    (from 1) and the number of pieces; the prefix counts in the limit.
    """
    if len(text) <= limit:
        return [text]
    levels = levels_from(at)
    digits = 1
    while True:
        widest = render_prefix(prefix, "9" * digits, "9" * digits)
        room = limit - len(widest)
        if room < 1:
            raise ValueError(f"the prefix {prefix!r} leaves no room in {limit} characters")
        pieces = _pieces(text, room, levels)
        if len(str(len(pieces))) <= digits:
            break
        digits += 1  # more pieces than the prefix was measured for: measure again
    total = len(pieces)
    return [render_prefix(prefix, n, total) + piece for n, piece in enumerate(pieces, start=1)]


def render_prefix(prefix: str, n: int | str, total: int | str) -> str:
    return prefix.replace("{n}", str(n)).replace("{total}", str(total)) if prefix else ""


def _pieces(text: str, room: int, levels: tuple[str, ...]) -> list[str]:
    pieces, start = [], 0
    while len(text) - start > room:
        end, resume = find_cut(text, start, room, levels)
        if end == start:  # one grapheme cluster longer than the room: cut it
            end = resume = start + room
        pieces.append(text[start:end])
        start = resume
    if start < len(text) or not pieces:
        pieces.append(text[start:])
    return pieces
