"""The one entry point for parsing untrusted XML.

Refuses any DOCTYPE (so no entity expansion, no external DTD, no billion laughs), never
touches the network, never processes XInclude, and bounds size and depth. Every refusal
is an `XmlRefused` with a stable code, never a crash or a hang.
"""

from __future__ import annotations

import re

from lxml import etree

from core.errors import ChaineError, ErrorCode

MAX_XML_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 64  # UBL and CII invoices nest about 12 levels; 64 leaves room for extensions

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ROOT_START = re.compile(rb"<[A-Za-z_]")


class XmlRefused(ChaineError):
    """The bytes are not XML Chaîne will read."""

    status = 422

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code  # type: ignore[misc]


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_xml(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse untrusted bytes into a tree, or refuse them with a coded `XmlRefused`."""
    if len(data) > max_bytes:
        raise XmlRefused(ErrorCode.XML_TOO_LARGE, f"XML larger than {max_bytes} bytes")
    root_start = _ROOT_START.search(data)
    if _DOCTYPE.search(data, 0, root_start.start() if root_start else len(data)):
        raise XmlRefused(ErrorCode.XML_DOCTYPE_FORBIDDEN, "a DOCTYPE is not allowed in an invoice")
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        if "depth" in str(exc).lower():
            raise XmlRefused(ErrorCode.XML_TOO_DEEP, f"XML nested too deep: {exc}") from None
        raise XmlRefused(ErrorCode.XML_NOT_WELL_FORMED, f"XML not well-formed: {exc}") from None
    except ValueError as exc:  # e.g. an encoding declaration lxml cannot honour
        raise XmlRefused(ErrorCode.XML_NOT_WELL_FORMED, f"XML not readable: {exc}") from None
    if tree.docinfo.doctype:  # a DOCTYPE hidden from the byte scan by a non-ASCII encoding
        raise XmlRefused(ErrorCode.XML_DOCTYPE_FORBIDDEN, "a DOCTYPE is not allowed in an invoice")
    if _depth_exceeds(tree.getroot(), MAX_DEPTH):
        raise XmlRefused(ErrorCode.XML_TOO_DEEP, f"XML nested deeper than {MAX_DEPTH} levels")
    return tree


def _depth_exceeds(root: etree._Element, limit: int) -> bool:
    """Whether any element sits deeper than `limit`, without recursion."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False
