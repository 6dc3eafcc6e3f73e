"""Typed values out of invoice XML: every refusal is an `InvoiceUnreadable` naming the element.

The readers run after XML Schema validation, yet XSD types are loose (a UBL amount may be
any decimal, a CII date any string), so each value is parsed strictly here and a value that
cannot be interpreted is reported with its path, never raised as a bare exception.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from lxml import etree

from core.errors import ChaineError, ErrorCode
from invoicing.model import Identifier

T = TypeVar("T")
Namespaces = tuple[tuple[str, str], ...]

# ASCII digits only: Python's int() and Decimal() would also take Arabic-Indic digits.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)  # no exponent, no NaN
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?", re.ASCII)  # xsd:date
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)  # UNTDID 2379 format 102
_WHITESPACE = re.compile(r"\s+")


class InvoiceUnreadable(ChaineError):
    """A value of the invoice cannot be interpreted (a bad amount, a bad date, a gap)."""

    code = ErrorCode.INVOICE_UNREADABLE
    status = 422


def parse_decimal(text: str) -> Decimal:
    """An xsd:decimal as `Decimal` (no exponent, no NaN or infinity)."""
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"{text!r} is not a decimal number")
    return Decimal(text)


def parse_iso_date(text: str) -> date:
    """An xsd:date (YYYY-MM-DD, time zone ignored), the UBL date format."""
    return _date(_ISO_DATE.fullmatch(text), text)


def parse_compact_date(text: str) -> date:
    """A CII date in format 102 (YYYYMMDD), the only one EN 16931 allows."""
    return _date(_COMPACT_DATE.fullmatch(text), text)


def _date(match: re.Match[str] | None, text: str) -> date:
    if match is None:
        raise ValueError(f"{text!r} is not a date in the expected format")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


def parse_indicator(text: str) -> bool:
    """An xsd:boolean: the charge indicator of allowances and charges."""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def parse_base64(text: str) -> bytes:
    """An embedded attachment (BT-125), line breaks and indentation allowed."""
    try:
        return base64.b64decode(_WHITESPACE.sub("", text), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None


@functools.cache
def _xpath(expression: str, namespaces: Namespaces) -> etree.XPath:
    """Each expression is compiled once per process: readers run millions of times a day."""
    return etree.XPath(expression, namespaces=dict(namespaces))


class Node:
    """An element being read, and the paths below it, relative and namespace-prefixed."""

    __slots__ = ("element", "namespaces")

    def __init__(self, element: etree._Element, namespaces: Namespaces) -> None:
        self.element = element
        self.namespaces = namespaces

    @property
    def location(self) -> str:
        """The element's path in its document, for error messages."""
        tree = self.element.getroottree()
        path = tree.getpath(self.element)
        if path.startswith("/*"):  # a root in a default namespace has no prefix
            path = "/" + etree.QName(tree.getroot()).localname + path[2:]
        return path

    def all(self, path: str) -> list[Node]:
        """Every element at `path`, in document order."""
        found = _xpath(path, self.namespaces)(self.element)
        return [Node(element, self.namespaces) for element in found]

    def first(self, path: str) -> Node | None:
        """The first element at `path`, if any."""
        found = _xpath(path, self.namespaces)(self.element)
        return Node(found[0], self.namespaces) if found else None

    def required_node(self, path: str) -> Node:
        """The first element at `path`, or `InvoiceUnreadable` when there is none."""
        found = self.first(path)
        if found is None:
            raise InvoiceUnreadable(f"{self.location}/{path}: missing")
        return found

    def own_text(self) -> str | None:
        """The element's text, stripped; None when blank."""
        text = "".join(self.element.itertext()).strip()
        return text or None

    def identifier(self) -> Identifier | None:
        """The element's text and its `schemeID` (BT-29, BT-30, BT-34...); None when blank."""
        value = self.own_text()
        return Identifier(value, self.attr("schemeID")) if value is not None else None

    def identifier_at(self, path: str) -> Identifier | None:
        """The identifier at `path`, if any."""
        found = self.first(path)
        return found.identifier() if found is not None else None

    def attr(self, name: str) -> str | None:
        """An attribute's value, stripped; None when absent or blank."""
        value = (self.element.get(name) or "").strip()
        return value or None

    def text(self, path: str) -> str | None:
        """The text at `path`, stripped; None when absent or blank."""
        node = self.first(path)
        return node.own_text() if node is not None else None

    def joined(self, path: str) -> str | None:
        """The texts of every element at `path`, one per line (0..n elements for a 0..1 BT)."""
        texts = [text for node in self.all(path) if (text := node.own_text()) is not None]
        return "\n".join(texts) if texts else None

    def required_text(self, path: str) -> str:
        """The text at `path`, or `InvoiceUnreadable` when it is absent."""
        text = self.text(path)
        if text is None:
            raise InvoiceUnreadable(f"{self.location}/{path}: missing")
        return text

    def value(self, path: str, parse: Callable[[str], T]) -> T | None:
        """The text at `path` parsed, None when absent; an uninterpretable one is refused."""
        node = self.first(path)
        return node.parsed(parse) if node is not None else None

    def required(self, path: str, parse: Callable[[str], T]) -> T:
        """The text at `path` parsed; absent or uninterpretable is refused."""
        node = self.first(path)
        value = node.parsed(parse) if node is not None else None
        if value is None:
            raise InvoiceUnreadable(f"{self.location}/{path}: missing")
        return value

    def parsed(self, parse: Callable[[str], T]) -> T | None:
        """This element's text parsed, None when blank."""
        text = self.own_text()
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError as exc:
            raise InvoiceUnreadable(f"{self.location}: {exc}") from None
