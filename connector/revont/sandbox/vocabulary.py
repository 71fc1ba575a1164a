"""The synthetic workspace's vocabulary: names, companies, words, ids and emails.

Chosen to exercise what real workspaces throw at a connector: Unicode names,
apostrophes and spaces in names, and emails in mixed case, with ``+`` tags,
apostrophes and quoted local parts.
"""

from __future__ import annotations

import hashlib
import random

# fmt: off
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32, as ULIDs use

FIRST_NAMES = [
    "Ana", "José", "Zoë", "Łukasz", "Søren", "Chloé", "Björn", "Mário", "Siobhán", "Ngozi",
    "Aiko", "Dmitri", "Ренат", "王芳", "Nguyễn Văn", "Fatima", "Oğuz", "Priya", "Jürgen", "Kai",
    "Mary-Jane", "D'Andre", "Élodie", "Íñigo", "Hana", "Olusegun", "Marta", "Tomasz", "Yusuf",
]

LAST_NAMES = [
    "Álvarez", "O'Brien", "Ødegård", "Żółć", "Müller", "Nakamura", "Иванов", "李", "An",
    "Smith", "García Márquez", "van der Berg", "Nguyen", "Kowalski", "Dubois", "Okafor",
    "Fernández", "Rossi", "Sørensen", "Papadopoulos", "Öztürk", "MacLeod", "Schröder", "Silva",
]

COMPANIES = [
    "Acme Corp", "Globex", "Initech", "Umbrella GmbH", "Soylent Ltd", "Hooli",
    "Vandelay Industries", "Wayne Enterprises", "Stark Industries", "Cyberdyne", "Tyrell Corp",
    "Müller & Söhne AG", "株式会社サンプル", "O'Reilly Supplies", None,
]

TITLES = [
    "VP Sales", "Head of RevOps", "CTO", "Procurement Lead", "Founder", "Director IT", None,
]

DOMAINS = [
    "example.com", "globex.example", "initech.test", "hooli.example", "acme.example",
]

WORDS = [
    "pricing", "budget", "timeline", "integration", "renewal", "discount", "contract",
    "onboarding", "security", "review", "pilot", "stakeholders", "procurement", "legal",
    "quarter", "roadmap", "dashboard", "migration", "seats", "licence", "champion", "decision",
    "competitor", "demo", "follow-up", "proposal", "implementation", "support", "SLA", "naïve",
    "café", "résumé", "Zürich", "Kraków", "São", "Paulo", "München", "déjà", "vu",
]

ACTION_TEXTS = [
    "Send the pricing proposal", "Schedule a technical deep dive",
    "Share the security questionnaire", "Loop in procurement",
    "Follow up on the pilot results", "Draft the renewal contract",
    "Book a demo for the finance team", "Confirm the go-live date",
]
# fmt: on


def make_id(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice(_ID_ALPHABET) for _ in range(20))


def stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def make_email(rng: random.Random, first: str, last: str) -> str:
    """Emails as people really have them: case, plus tags, apostrophes, quotes."""
    ascii_first = first.encode("ascii", "ignore").decode().replace(" ", "").lower() or "user"
    ascii_last = last.encode("ascii", "ignore").decode().replace(" ", "").lower() or "contact"
    domain = rng.choice(DOMAINS)
    style = rng.random()
    if style < 0.12:
        local = f"{ascii_first}+crm{rng.randint(1, 99)}"
    elif style < 0.20:
        local = f"{ascii_first}.o'{ascii_last}"
    elif style < 0.24:
        # A quoted local part is quoted whole, digits included (RFC 5322).
        return f'"{ascii_first} {ascii_last}{rng.randint(1, 999)}"@{domain}'
    elif style < 0.40:
        local = f"{ascii_first.capitalize()}.{ascii_last.capitalize()}"
    else:
        local = f"{ascii_first}.{ascii_last}"
    if rng.random() < 0.1:
        domain = domain.upper()
    return f"{local}{rng.randint(1, 999)}@{domain}"
