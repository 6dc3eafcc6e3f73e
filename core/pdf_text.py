"""Plain A4 text documents as PDF: headings, paragraphs and label/value rows, wrapped and
paginated, with a footer numbering the pages.

Chaîne's human-readable documents (signature verification reports, award letters) are text
laid out top to bottom, so this is all the layout they need. They are written with
pyHanko's own PDF writer and the standard Helvetica fonts in WinAnsi encoding, so they need
no font file and their text (accents included) can be searched and copied.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PdfFileWriter

Color = tuple[float, float, float]  # RGB, each 0 to 1

PAGE_WIDTH, PAGE_HEIGHT = 595.28, 841.89  # A4, in points
MARGIN = 56.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
TOP = PAGE_HEIGHT - MARGIN
BOTTOM = 64.0  # above the footer, and above where a development seal puts its stamp
FOOTER_Y = 40.0
LABEL_WIDTH = 170.0
VALUE_WIDTH = CONTENT_WIDTH - LABEL_WIDTH
GAP = 8.0  # between a label and the value column

REGULAR, BOLD = "/F1", "/F2"
_FONTS = {REGULAR: "/Helvetica", BOLD: "/Helvetica-Bold"}
BLACK: Color = (0.0, 0.0, 0.0)
GREY: Color = (0.35, 0.35, 0.35)

# Helvetica and Helvetica-Bold advance widths (Adobe Core 14 AFM, 1/1000 em) of the
# ASCII characters 32 to 126; an accented letter is as wide as its base letter.
_ASCII_WIDTHS = {
    REGULAR: (
        "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 "
        "556 556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 "
        "500 667 556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 "
        "556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 "
        "278 556 500 722 500 500 500 334 260 334 584"
    ),
    BOLD: (
        "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 "
        "556 556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 "
        "556 722 611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 "
        "556 333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 "
        "333 611 556 778 556 556 500 389 280 389 584"
    ),
}
_WIDTHS = {
    font: {chr(32 + i): int(w) for i, w in enumerate(table.split())}
    for font, table in _ASCII_WIDTHS.items()
}
# Latin letters without a Unicode decomposition, as they lose their stroke.
_STROKED = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"})
_WIDE = {"—": 1000, "…": 1000, "€": 556, "«": 556, "»": 556, "°": 400, "’": 278, "·": 278}


@dataclass(frozen=True)
class Run:
    """Text drawn at one place in one font."""

    x: float  # from the left margin
    font: str
    size: float
    text: str
    color: Color = BLACK


@dataclass(frozen=True)
class Line:
    """Runs side by side; a line without runs is vertical space."""

    runs: tuple[Run, ...]
    height: float  # the space it takes, leading included


Block = tuple[Line, ...]  # lines kept on one page when they fit; `+` joins blocks


def paragraph(
    text: str,
    font: str = REGULAR,
    size: float = 10,
    *,
    space_before: float = 0,
    space_after: float = 0,
) -> Block:
    """`text` wrapped across the full width, with optional space around it."""
    lines = _wrap(text, font, size, CONTENT_WIDTH)
    block = [Line((Run(0, font, size, line),), size * 1.35) for line in lines]
    if space_before:
        block.insert(0, Line((), space_before))
    if space_after:
        block.append(Line((), space_after))
    return tuple(block)


def row(
    label: str,
    *values: str,
    bold: bool = False,
    color: Color = BLACK,
    size: float = 10,
) -> Block:
    """A label in the left column and its value(s), each from a new line, in the right one."""
    font = BOLD if bold else REGULAR
    labels = _wrap(label, BOLD, size, LABEL_WIDTH - GAP)
    lines = [part for value in values for part in _wrap(value, font, size, VALUE_WIDTH)]
    rows = []
    for i in range(max(len(labels), len(lines))):
        runs = []
        if i < len(labels):
            runs.append(Run(0, BOLD, size, labels[i]))
        if i < len(lines):
            runs.append(Run(LABEL_WIDTH, font, size, lines[i], color))
        rows.append(Line(tuple(runs), size * 1.35))
    return (*rows[:-1], Line(rows[-1].runs, rows[-1].height + 3))


def render(blocks: Iterable[Block], *, title: str, footer: str) -> bytes:
    """The blocks as an A4 PDF titled `title`; every page ends with `footer` and its number."""
    pages = _paginate(blocks)
    writer = PdfFileWriter()
    meta = writer.document_meta
    meta.title = title
    meta.creator = meta.author = "Chaîne"
    fonts = generic.DictionaryObject(
        {
            pdf_name(key): writer.add_object(
                generic.DictionaryObject(
                    {
                        pdf_name("/Type"): pdf_name("/Font"),
                        pdf_name("/Subtype"): pdf_name("/Type1"),
                        pdf_name("/BaseFont"): pdf_name(base),
                        pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding"),
                    }
                )
            )
            for key, base in _FONTS.items()
        }
    )
    resources = writer.add_object(generic.DictionaryObject({pdf_name("/Font"): fonts}))
    for number, lines in enumerate(pages, start=1):
        stream = generic.StreamObject(
            stream_data=_content(lines, f"{footer} · page {number} sur {len(pages)}")
        )
        stream.compress()
        writer.insert_page(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Page"),
                    pdf_name("/MediaBox"): generic.ArrayObject(
                        generic.FloatObject(v) for v in (0, 0, PAGE_WIDTH, PAGE_HEIGHT)
                    ),
                    pdf_name("/Resources"): resources,
                    pdf_name("/Contents"): writer.add_object(stream),
                }
            )
        )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _paginate(blocks: Iterable[Block]) -> list[list[Line]]:
    """Fill pages top to bottom; a block that does not fit starts a new page, and one
    taller than a page is split wherever the page ends."""
    pages: list[list[Line]] = [[]]
    room = TOP - BOTTOM
    for block in blocks:
        height = sum(line.height for line in block)
        if height > room and pages[-1] and height <= TOP - BOTTOM:
            pages.append([])
            room = TOP - BOTTOM
        for line in block:
            if line.height > room and pages[-1]:
                pages.append([])
                room = TOP - BOTTOM
            if not line.runs and not pages[-1]:
                continue  # no blank space at the top of a page
            pages[-1].append(line)
            room -= line.height
    return pages


def _content(lines: list[Line], footer: str) -> bytes:
    """The page's content stream: each line's runs, then the footer."""
    ops: list[bytes] = []
    y = TOP
    for line in lines:
        first = line.runs[0].size if line.runs else 0
        for run in line.runs:
            ops.append(_text_op(MARGIN + run.x, y - first, run))
        y -= line.height
    ops.append(_text_op(MARGIN, FOOTER_Y, Run(0, REGULAR, 8, footer, GREY)))
    return b"\n".join(ops)


def _text_op(x: float, y: float, run: Run) -> bytes:
    r, g, b = run.color
    data = _encode(run.text).hex().upper()
    return (
        f"BT {r:.3f} {g:.3f} {b:.3f} rg {run.font} {run.size:g} Tf "
        f"{x:.2f} {y:.2f} Td <{data}> Tj ET"
    ).encode("ascii")


def _encode(text: str) -> bytes:
    """WinAnsi (cp1252) bytes; other characters lose their accent, or become '?'."""
    out = bytearray()
    for char in text.translate(_STROKED):
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore")
            out += base or b"?"
    return bytes(out)


def _width(text: str, font: str, size: float) -> float:
    widths = _WIDTHS[font]
    total = 0
    for char in text.translate(_STROKED):
        width = widths.get(char) or _WIDE.get(char)
        if width is None:
            base = unicodedata.normalize("NFKD", char)[:1]
            width = widths.get(base, 556)
        total += width
    return total * size / 1000


def _fitting_prefix(word: str, font: str, size: float, width: float) -> int:
    """How many leading characters of `word` fit in `width` (at least one), in one pass:
    words come from the files examined (signature ids, subjects), so any length."""
    total = 0.0
    for index, char in enumerate(word):
        total += _width(char, font, size)
        if total > width:
            return max(index, 1)
    return len(word)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break `text` into lines no wider than `width`; words longer than a line are cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if _width(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while _width(word, font, size) > width:
            cut = _fitting_prefix(word, font, size, width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    return lines
