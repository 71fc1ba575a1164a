"""The SOQL parser: tokens in, a :class:`Query` out (see :mod:`soql` for the subset).

Field and object names are resolved against the org's catalog while parsing, so
unknown ones, values of the wrong type and unfilterable fields fail here with
Salesforce's codes and messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from adapters.salesforce.sandbox.ids import normalize
from adapters.salesforce.sandbox.problems import SalesforceProblem, problem
from adapters.salesforce.sandbox.schema import TEXT_TYPES, Catalog, Field, SObjectType
from adapters.salesforce.sandbox.soql_lexer import Token, soql_error, tokenize
from adapters.salesforce.sandbox.values import format_datetime, parse_datetime

_OFFSET_MAX = 2000


@dataclass
class Comparison:
    field: Field
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Any
    pattern: re.Pattern[str] | None = None


@dataclass
class Junction:
    op: str  # AND / OR
    parts: list[Condition]


@dataclass
class Negation:
    part: Condition


Condition = Comparison | Junction | Negation


@dataclass
class Query:
    sobject: SObjectType
    fields: list[Field] | None  # None: SELECT COUNT()
    where: Condition | None = None
    order: list[tuple[Field, bool, bool]] = field(default_factory=list)  # field, desc, nulls 1st
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class Like:
    """A string literal (its text, and its LIKE pattern for the parser)."""

    text: str
    pattern: str | None


def _require_link_filter(where: Condition | None, text: str) -> None:
    parts = where.parts if isinstance(where, Junction) and where.op == "AND" else [where]
    for part in parts:
        if (
            isinstance(part, Comparison)
            and part.field.name in ("ContentDocumentId", "LinkedEntityId")
            and part.op in ("=", "IN")
        ):
            return
    raise problem(
        400,
        "MALFORMED_QUERY",
        "Implementation restriction: ContentDocumentLink requires a filter by a single Id on "
        "ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using "
        "the IN operator.",
    )


def parse(text: str, catalog: Catalog) -> Query:
    """A SOQL query (400 errors as Salesforce words them)."""
    if not text.strip():
        raise problem(400, "MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text, catalog).query()


class _Parser:
    def __init__(self, text: str, catalog: Catalog) -> None:
        self.text = text
        self.catalog = catalog
        self.tokens = tokenize(text)
        self.at = 0
        self.sobject: SObjectType | None = None

    # -- tokens ------------------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.at]

    def next(self) -> Token:
        token = self.tokens[self.at]
        self.at = min(self.at + 1, len(self.tokens) - 1)
        return token

    def unexpected(self, token: Token | None = None) -> SalesforceProblem:
        token = token or self.peek()
        return soql_error(
            "MALFORMED_QUERY", f"unexpected token: '{token.text}'", self.text, token.pos
        )

    def keyword(self, *words: str) -> Token:
        token = self.next()
        if token.word() not in words:
            raise self.unexpected(token)
        return token

    def accept(self, *words: str) -> bool:
        if self.peek().word() in words:
            self.next()
            return True
        return False

    def op(self, text: str) -> None:
        token = self.next()
        if token.kind != "op" or token.text != text:
            raise self.unexpected(token)

    # -- grammar ------------------------------------------------------------------------------

    def query(self) -> Query:
        self.keyword("SELECT")
        selected: list[Token] | None = []
        if self.peek().word() == "COUNT":
            self.next()
            self.op("(")
            self.op(")")
            selected = None
        else:
            selected = [self.name_token()]
            while self.peek().text == ",":
                self.next()
                selected.append(self.name_token())
        self.keyword("FROM")
        source = self.next()
        if source.kind != "name":
            raise self.unexpected(source)
        t = self.catalog.get(source.text)
        if t is None:
            raise soql_error(
                "INVALID_TYPE",
                f"sObject type '{source.text}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                self.text,
                source.pos,
            )
        self.sobject = t
        fields = None if selected is None else self.select_fields(selected)
        query = Query(t, fields)
        if self.accept("WHERE"):
            query.where = self.condition()
        if self.accept("ORDER"):
            self.keyword("BY")
            query.order.append(self.order_item())
            while self.peek().text == ",":
                self.next()
                query.order.append(self.order_item())
        if self.accept("LIMIT"):
            query.limit = self.integer()
        if self.accept("OFFSET"):
            query.offset = self.integer()
            if query.offset > _OFFSET_MAX:
                raise problem(
                    400,
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"Maximum SOQL offset allowed is {_OFFSET_MAX}",
                )
        if self.peek().kind != "end":
            raise self.unexpected()
        if t.name == "ContentDocumentLink":
            _require_link_filter(query.where, self.text)
        return query

    def name_token(self) -> Token:
        token = self.next()
        if token.kind != "name":
            raise self.unexpected(token)
        return token

    def select_fields(self, tokens: list[Token]) -> list[Field]:
        fields: list[Field] = []
        for token in tokens:
            found = self.resolve(token)
            if found in fields:
                raise soql_error(
                    "MALFORMED_QUERY",
                    f"duplicate field selected: {found.name}",
                    self.text,
                    token.pos,
                )
            fields.append(found)
        return fields

    def resolve(self, token: Token) -> Field:
        assert self.sobject is not None
        t = self.sobject
        if "." in token.text:
            raise soql_error(
                "INVALID_FIELD",
                f"The sandbox does not support relationship paths such as '{token.text}': select "
                "the id field and query the related object.",
                self.text,
                token.pos,
            )
        found = t.field(token.text)
        if found is None:
            raise soql_error(
                "INVALID_FIELD",
                f"No such column '{token.text}' on entity '{t.name}'. If you are attempting to use "
                "a custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                self.text,
                token.pos,
            )
        return found

    def integer(self) -> int:
        token = self.next()
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected(token)
        return int(token.text)

    def order_item(self) -> tuple[Field, bool, bool]:
        token = self.name_token()
        found = self.resolve(token)
        if not found.filterable:
            raise soql_error(
                "INVALID_FIELD",
                f"field '{found.name}' can not be sorted in a query call",
                self.text,
                token.pos,
            )
        desc = self.accept("DESC")
        if not desc:
            self.accept("ASC")
        nulls_first = not desc
        if self.accept("NULLS"):
            nulls_first = self.keyword("FIRST", "LAST").word() == "FIRST"
        return found, desc, nulls_first

    def condition(self) -> Condition:
        parts = [self.term()]
        connective = self.peek().word() if self.peek().word() in ("AND", "OR") else None
        while self.peek().word() in ("AND", "OR"):
            if self.peek().word() != connective:
                raise self.unexpected()
            self.next()
            parts.append(self.term())
        return parts[0] if connective is None else Junction(connective, parts)

    def term(self) -> Condition:
        if self.accept("NOT"):
            return Negation(self.term())
        if self.peek().text == "(":
            self.next()
            inner = self.condition()
            self.op(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        token = self.name_token()
        found = self.resolve(token)
        if not found.filterable:
            raise soql_error(
                "INVALID_FIELD",
                f"field '{found.name}' can not be filtered in a query call",
                self.text,
                token.pos,
            )
        operator = self.next()
        if operator.word() in ("IN", "NOT"):
            negated = operator.word() == "NOT"
            if negated:
                self.keyword("IN")
            self.op("(")
            values = [self.value(found)]
            while self.peek().text == ",":
                self.next()
                values.append(self.value(found))
            self.op(")")
            return Comparison(found, "NOT IN" if negated else "IN", values)
        if operator.word() == "LIKE":
            literal = self.next()
            if literal.kind != "string" or found.type not in TEXT_TYPES:
                raise soql_error(
                    "INVALID_FIELD",
                    f"invalid operator on field '{found.name}': LIKE takes a quoted string on a "
                    "text field",
                    self.text,
                    literal.pos,
                )
            compiled = re.compile(str(literal.pattern), re.IGNORECASE | re.DOTALL)
            return Comparison(found, "LIKE", literal.value, compiled)
        if operator.kind != "op" or operator.text in ("(", ")", ","):
            raise self.unexpected(operator)
        op = "!=" if operator.text == "<>" else operator.text
        return Comparison(found, op, self.value(found))

    def value(self, target: Field) -> Any:
        token = self.next()
        word = token.word()
        if word == "NULL":
            return None
        kind = target.type
        expected = {
            "int": ("number", "double"),
            "double": ("number", "double"),
            "boolean": ("bool", "boolean"),
            "date": ("date", "date"),
            "datetime": ("datetime", "dateTime"),
        }.get(kind, ("string", "string"))
        actual = "bool" if word in ("TRUE", "FALSE") else token.kind
        if actual != expected[0]:
            if token.kind not in ("string", "number", "date", "datetime") and actual != "bool":
                raise self.unexpected(token)
            quoting = (
                "should be enclosed in quotes"
                if expected[0] == "string"
                else ("should not be enclosed in quotes")
            )
            raise soql_error(
                "INVALID_FIELD",
                f"value of filter criterion for field '{target.name}' must be of type "
                f"{expected[1]} and {quoting}",
                self.text,
                token.pos,
            )
        if actual == "bool":
            return word == "TRUE"
        if token.kind == "number":
            return float(token.text)
        if token.kind == "datetime":
            moment = parse_datetime(token.text)
            if moment is None:
                raise self.unexpected(token)
            return format_datetime(moment)
        if token.kind == "date":
            return token.text
        if kind in ("id", "reference"):
            record_id = normalize(str(token.value))
            if record_id is None:
                raise soql_error(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid ID field: {token.value}",
                    self.text,
                    token.pos,
                )
            return record_id
        return Like(str(token.value), token.pattern)
