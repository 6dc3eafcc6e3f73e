"""Writing invoice XML: elements appended in schema order, absent values left out.

The writers call these in the order the XSD sequence requires; an optional business term
that is None writes nothing, so no empty element ever reaches a buyer's system.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree


def sub(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: str | None
) -> etree._Element:
    """Append the element `tag` (Clark notation) with its text and non-None attributes."""
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    for name, value in attributes.items():
        if value is not None:
            element.set(name, value)
    return element


def opt(
    parent: etree._Element, tag: str, text: str | None, **attributes: str | None
) -> etree._Element | None:
    """Append `tag` only when its text is present (an optional business term)."""
    return sub(parent, tag, text, **attributes) if text is not None else None


def decimal_text(value: Decimal | None) -> str | None:
    """A Decimal as xsd:decimal text: plain notation, never an exponent."""
    return format(value, "f") if value is not None else None


def serialize(root: etree._Element) -> bytes:
    """The document as UTF-8 bytes with an XML declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
