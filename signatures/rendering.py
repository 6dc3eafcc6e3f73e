"""A verification report as a PDF people can read, file and print: one or more A4 pages
in French, the verdict first, then the facts each signature's verdict rests on.

The JSON report is the contract; this is its human form, sealed by Chaîne before it
leaves (`signatures.seal`). It is written with pyHanko's own PDF writer and the standard
Helvetica fonts in WinAnsi encoding, so it needs no font file and its text (accents
included) can be searched and copied.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PdfFileWriter

from signatures.report import (
    Coverage,
    Indication,
    Level,
    Modifications,
    RevocationSource,
    RevocationStatus,
    SignatureReport,
    SubIndication,
    VerificationReport,
)

TITLE = "Rapport de vérification de signature"

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
FONTS = {REGULAR: "/Helvetica", BOLD: "/Helvetica-Bold"}
BLACK, GREY = (0.0, 0.0, 0.0), (0.35, 0.35, 0.35)

VERDICTS = {
    Indication.TOTAL_PASSED: ("VALIDE", (0.0, 0.45, 0.15)),
    Indication.INDETERMINATE: ("INDÉTERMINÉ", (0.75, 0.4, 0.0)),
    Indication.TOTAL_FAILED: ("NON VALIDE", (0.75, 0.0, 0.0)),
}
SUMMARIES = {
    Indication.TOTAL_PASSED: "Toutes les signatures sont valides selon la politique appliquée.",
    Indication.INDETERMINATE: (
        "Au moins une signature n'a pas pu être confirmée : elle n'est ni prouvée valide, "
        "ni prouvée invalide. Le détail ci-dessous dit pourquoi."
    ),
    Indication.TOTAL_FAILED: (
        "Au moins une signature est invalide. Le détail ci-dessous dit pourquoi."
    ),
}
# ETSI EN 319 102-1 tables 6 and 7, said plainly.
SUB_INDICATIONS = {
    SubIndication.FORMAT_FAILURE: "la signature est mal formée ou illisible",
    SubIndication.HASH_FAILURE: "le document a été modifié depuis sa signature",
    SubIndication.SIG_CRYPTO_FAILURE: "la signature cryptographique est invalide",
    SubIndication.REVOKED: "le certificat du signataire est révoqué",
    SubIndication.NOT_YET_VALID: "le certificat n'était pas encore valide lors de la signature",
    SubIndication.SIG_CONSTRAINTS_FAILURE: "la signature ne respecte pas la politique",
    SubIndication.CHAIN_CONSTRAINTS_FAILURE: (
        "la chaîne de certification ne respecte pas la politique (autorité non reconnue, "
        "usage de la clé)"
    ),
    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE: (
        "la chaîne de certification n'a pas pu être validée"
    ),
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE: (
        "algorithme ou taille de clé refusés par la politique"
    ),
    SubIndication.EXPIRED: "le certificat du signataire a expiré avant la preuve d'existence",
    SubIndication.POLICY_PROCESSING_ERROR: "la politique de signature n'a pas pu être traitée",
    SubIndication.SIGNATURE_POLICY_NOT_AVAILABLE: "la politique de signature est introuvable",
    SubIndication.TIMESTAMP_ORDER_FAILURE: "les horodatages ne sont pas dans l'ordre attendu",
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: "le certificat du signataire est introuvable",
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: "aucune chaîne vers une autorité de confiance",
    SubIndication.REVOKED_NO_POE: (
        "certificat révoqué, sans preuve que la signature existait avant la révocation"
    ),
    SubIndication.REVOKED_CA_NO_POE: (
        "certificat d'autorité révoqué, sans preuve d'existence antérieure de la signature"
    ),
    SubIndication.OUT_OF_BOUNDS_NO_POE: (
        "hors de la période de validité du certificat, sans preuve d'existence"
    ),
    SubIndication.REVOCATION_OUT_OF_BOUNDS_NO_POE: (
        "données de révocation hors de leur période de validité, sans preuve d'existence"
    ),
    SubIndication.OUT_OF_BOUNDS_NOT_REVOKED: (
        "certificat expiré (non révoqué), sans preuve d'existence suffisante"
    ),
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE_NO_POE: (
        "algorithme devenu insuffisant, sans preuve d'existence antérieure"
    ),
    SubIndication.NO_POE: "aucune preuve d'existence de la signature au moment requis",
    SubIndication.TRY_LATER: "données de révocation pas encore disponibles : réessayer plus tard",
    SubIndication.SIGNED_DATA_NOT_FOUND: "les données signées sont introuvables",
    SubIndication.GENERIC: "raison non précisée",
}
LEVELS = {
    Level.B_B: "signature seule",
    Level.B_T: "signature horodatée",
    Level.B_LT: "horodatée, avec les données de validation à long terme",
    Level.B_LTA: "horodatée, données de validation et horodatage d'archive",
}
COVERAGES = {
    Coverage.ENTIRE_FILE: "tout le fichier",
    Coverage.ENTIRE_REVISION: "la version signée (des ajouts ont suivi la signature)",
    Coverage.PARTIAL: "partielle : une partie de la version signée n'est pas couverte",
}
MODIFICATIONS = {
    Modifications.NONE: "aucune",
    Modifications.LTA_UPDATES: "données de validation et horodatages d'archive (admis)",
    Modifications.FORM_FILLING: "remplissage de formulaire ou autres signatures (admis)",
    Modifications.ANNOTATIONS: "annotations (admises si la certification le permet)",
    Modifications.OTHER: "le contenu a été modifié après la signature",
}
REVOCATIONS = {
    RevocationStatus.GOOD: "non révoqué",
    RevocationStatus.REVOKED: "RÉVOQUÉ",
    RevocationStatus.UNKNOWN: "inconnue (aucune donnée de révocation utilisable)",
}
REVOCATION_SOURCES = {
    RevocationSource.EMBEDDED: "données incluses dans le fichier",
    RevocationSource.FETCHED: "données obtenues en ligne",
}
KEY_USAGES = {
    "digital_signature": "signature numérique",
    "non_repudiation": "non-répudiation",
    "key_encipherment": "chiffrement de clé",
    "data_encipherment": "chiffrement de données",
    "key_agreement": "accord de clé",
    "key_cert_sign": "signature de certificats",
    "crl_sign": "signature de listes de révocation",
}

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
WIDTHS = {
    font: {chr(32 + i): int(w) for i, w in enumerate(table.split())}
    for font, table in _ASCII_WIDTHS.items()
}
# Latin letters without a Unicode decomposition, as they lose their stroke.
STROKED = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"})
WIDE = {"—": 1000, "…": 1000, "€": 556, "«": 556, "»": 556, "°": 400, "’": 278, "·": 278}


@dataclass(frozen=True)
class _Run:
    """Text drawn at one place in one font."""

    x: float  # from the left margin
    font: str
    size: float
    text: str
    color: tuple[float, float, float] = BLACK


@dataclass(frozen=True)
class _Line:
    runs: tuple[_Run, ...]
    height: float  # the space it takes, leading included


_Block = tuple[_Line, ...]  # lines kept on one page when they fit


def report_pdf(report: VerificationReport, file_name: str | None = None) -> bytes:
    """The report as an A4 PDF in French; `file_name` names the verified file in it."""
    pages = _paginate(_blocks(report, file_name))
    footer = f"Chaîne · {TITLE} · {_time(report.validation_time)}"
    writer = PdfFileWriter()
    meta = writer.document_meta
    meta.title = TITLE if file_name is None else f"{TITLE} : {file_name}"
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
            for key, base in FONTS.items()
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


def _blocks(report: VerificationReport, file_name: str | None) -> list[_Block]:
    verdict, color = VERDICTS[report.indication]
    blocks: list[_Block] = [
        _paragraph(TITLE, BOLD, 16, space_after=10),
        _row("Fichier", file_name or "non précisé"),
        _row("Empreinte SHA-256", report.sha256),
        _row("Résultat", f"{verdict} ({report.indication.value})", bold=True, color=color),
        _row("Signatures", str(len(report.signatures))),
        _row("Politique de validation", report.policy),
        _row("Date de la vérification", _time(report.validation_time)),
        _paragraph(SUMMARIES[report.indication], REGULAR, 10, space_before=6, space_after=4),
    ]
    total = len(report.signatures)
    for number, signature in enumerate(report.signatures, start=1):
        blocks.extend(_signature_blocks(signature, number, total))
    return blocks


def _signature_blocks(sig: SignatureReport, number: int, total: int) -> list[_Block]:
    verdict, color = VERDICTS[sig.indication]
    result = f"{verdict} ({sig.indication.value}"
    if sig.sub_indication is not None:
        result += f", {sig.sub_indication.value}) : {SUB_INDICATIONS[sig.sub_indication]}"
    else:
        result += ")"
    signer = sig.signer
    heading = _paragraph(
        f"Signature {number} sur {total} : {sig.name}", BOLD, 12, space_before=14, space_after=4
    )
    blocks: list[_Block] = [
        # A heading never ends a page: it goes with the verdict under it.
        heading + _row("Résultat", result, bold=True, color=color),
        _row("Format", sig.format.value),
        _row("Signataire", signer.subject if signer else "inconnu"),
    ]
    if signer is not None:
        usages = ", ".join(KEY_USAGES.get(usage, usage) for usage in signer.key_usage)
        blocks += [
            _row("Émetteur du certificat", signer.issuer),
            _row("Numéro de série", signer.serial),
            _row(
                "Validité du certificat",
                f"du {_time(signer.not_before)} au {_time(signer.not_after)}",
            ),
            _row("Usages de la clé", usages or "non précisés"),
        ]
    intact = (
        "données signées intactes, signature cryptographique valide"
        if sig.intact and sig.crypto_valid
        else "données signées intactes, mais signature cryptographique invalide"
        if sig.intact
        else "les données signées ont été modifiées ou sont illisibles"
    )
    revocation = REVOCATIONS[sig.revocation_status]
    if sig.revocation_source in REVOCATION_SOURCES:
        revocation += f" ({REVOCATION_SOURCES[sig.revocation_source]})"
    blocks += [
        _row("Heure de signature déclarée", _time(sig.claimed_signing_time, "non déclarée")),
        _row("Horodatage", _time(sig.timestamp_time, "aucun horodatage valide")),
        _row("Niveau", f"{sig.level.value} : {LEVELS[sig.level]}" if sig.level else "inconnu"),
        _row("Intégrité", intact),
        _row("Couverture", COVERAGES[sig.coverage] if sig.coverage else "inconnue"),
        _row(
            "Modifications après signature",
            MODIFICATIONS[sig.modifications] if sig.modifications else "inconnues",
        ),
        _row(
            "Chaîne de confiance",
            *(
                [f"{i}. {subject}" for i, subject in enumerate(sig.trusted_chain, start=1)]
                or ["aucune chaîne vers une autorité de confiance"]
            ),
        ),
        _row("Révocation", revocation),
    ]
    if sig.messages:
        blocks.append(_row("Messages", *sig.messages, color=GREY))
    return blocks


def _row(
    label: str,
    *values: str,
    bold: bool = False,
    color: tuple[float, float, float] = BLACK,
    size: float = 10,
) -> _Block:
    """A label in the left column and its value(s), wrapped, in the right one."""
    font = BOLD if bold else REGULAR
    labels = _wrap(label, BOLD, size, LABEL_WIDTH - GAP)
    lines = [part for value in values for part in _wrap(value, font, size, VALUE_WIDTH)]
    rows = []
    for i in range(max(len(labels), len(lines))):
        runs = []
        if i < len(labels):
            runs.append(_Run(0, BOLD, size, labels[i]))
        if i < len(lines):
            runs.append(_Run(LABEL_WIDTH, font, size, lines[i], color))
        rows.append(_Line(tuple(runs), size * 1.35))
    return (*rows[:-1], _Line(rows[-1].runs, rows[-1].height + 3))


def _paragraph(
    text: str, font: str, size: float, *, space_before: float = 0, space_after: float = 0
) -> _Block:
    lines = _wrap(text, font, size, CONTENT_WIDTH)
    block = [_Line((_Run(0, font, size, line),), size * 1.35) for line in lines]
    if space_before:
        block.insert(0, _Line((), space_before))
    if space_after:
        block.append(_Line((), space_after))
    return tuple(block)


def _paginate(blocks: list[_Block]) -> list[list[_Line]]:
    """Fill pages top to bottom; a block that does not fit starts a new page, and one
    taller than a page is split wherever the page ends."""
    pages: list[list[_Line]] = [[]]
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


def _content(lines: list[_Line], footer: str) -> bytes:
    """The page's content stream: each line's runs, then the footer."""
    ops: list[bytes] = []
    y = TOP
    for line in lines:
        first = line.runs[0].size if line.runs else 0
        for run in line.runs:
            ops.append(_text_op(MARGIN + run.x, y - first, run))
        y -= line.height
    ops.append(_text_op(MARGIN, FOOTER_Y, _Run(0, REGULAR, 8, footer, GREY)))
    return b"\n".join(ops)


def _text_op(x: float, y: float, run: _Run) -> bytes:
    r, g, b = run.color
    data = _encode(run.text).hex().upper()
    return (
        f"BT {r:.3f} {g:.3f} {b:.3f} rg {run.font} {run.size:g} Tf "
        f"{x:.2f} {y:.2f} Td <{data}> Tj ET"
    ).encode("ascii")


def _encode(text: str) -> bytes:
    """WinAnsi (cp1252) bytes; other characters lose their accent, or become '?'."""
    out = bytearray()
    for char in text.translate(STROKED):
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore")
            out += base or b"?"
    return bytes(out)


def _width(text: str, font: str, size: float) -> float:
    widths = WIDTHS[font]
    total = 0
    for char in text.translate(STROKED):
        width = widths.get(char) or WIDE.get(char)
        if width is None:
            base = unicodedata.normalize("NFKD", char)[:1]
            width = widths.get(base, 556)
        total += width
    return total * size / 1000


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
            fits = (i for i in range(len(word) - 1, 0, -1) if _width(word[:i], font, size) <= width)
            cut = next(fits, 1)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    return lines


def _time(moment: datetime | None, missing: str = "inconnue") -> str:
    if moment is None:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC):%d/%m/%Y %H:%M:%S} UTC"
