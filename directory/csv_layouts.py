"""The two CSV layouts of `chaine directory import`: public structures and suppliers.

Parsing is pure and streaming: it reads lines of bytes and yields, in file order, either
a record or a `LineError` naming the physical line (the header is line 1) and the reason,
so one bad line never stops an import and a file of any size runs in constant memory
(apart from one entry per SIRET, kept to detect lines that contradict each other).

Files are UTF-8, with or without a BOM, separated by `,` or, as French spreadsheets
export them, by `;` (detected from the header).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import chain
from typing import TypeVar

from core.errors import ErrorCode, InvalidInput
from directory.identifiers import (
    IdentifierScheme,
    check_bic,
    check_email,
    check_iban,
    check_identifier,
    check_siret,
)
from directory.records import (
    CommitmentRecord,
    ServiceRecord,
    StructureCategory,
    StructureRecord,
    SupplierRecord,
)

# A physical line longer than this is refused before the csv module sees it: no directory
# line comes near it, and the csv module's own limit is process-wide, so it is left alone.
MAX_LINE_BYTES = 10_000
# Column sizes of the directory tables (store/models.py): longer values are refused here,
# line by line, rather than by the database, batch by batch.
NAME_MAX_LENGTH = 200
SERVICE_CODE_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254

STRUCTURE_COLUMNS = (
    "siret",
    "name",
    "category",
    "active",
    "service_code_required",
    "commitment_required",
    "payment_status_not_reported",
)
SERVICE_COLUMNS = ("service_code", "service_name", "service_active")
SUPPLIER_COLUMNS = ("scheme", "identifier", "name", "iban", "bic", "email")
COMMITMENT_COLUMNS = (
    "commitment",
    "buyer_siret",
    "supplier_siret",
    "ceiling",
    "service_done_presumed",
    "works",
    "paying_service",
    "active",
)
COMMITMENT_MAX_LENGTH = 40
MAX_CEILING = Decimal("99999999999999.99")

_BOM = b"\xef\xbb\xbf"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = frozenset({"true", "1", "yes", "oui", "vrai"})  # French Excel writes VRAI/FAUX
_FALSE = frozenset({"false", "0", "no", "non", "faux"})
_CATEGORIES = {
    **{category.value: category for category in StructureCategory},
    "ETAT": StructureCategory.STATE,
    "COLLECTIVITE": StructureCategory.LOCAL_AUTHORITY,
    "HOPITAL": StructureCategory.HOSPITAL,
    "AUTRE": StructureCategory.OTHER,
}

T = TypeVar("T")


class Layout(StrEnum):
    """Which directory file this is, told by its header."""

    STRUCTURES = "structures"
    SUPPLIERS = "suppliers"
    COMMITMENTS = "commitments"


@dataclass(frozen=True)
class LineError:
    """A refused line: its physical line number, a stable code and a sentence for people."""

    line: int
    code: ErrorCode
    reason: str


Entry = StructureRecord | SupplierRecord | CommitmentRecord | LineError


@dataclass(frozen=True)
class DirectoryCsv:
    """An opened directory file: its layout, and its entries, read lazily in file order."""

    layout: Layout
    entries: Iterator[Entry]


def read_directory_csv(lines: Iterable[bytes]) -> DirectoryCsv:
    """Read the header of a directory file and return its lazily parsed entries.

    Raises `InvalidInput` when the header is unusable (empty file, unknown layout,
    missing columns): nothing of such a file can be imported.
    """
    source = _PhysicalLines(iter(lines))
    first = next(source, None)
    if first is None or not first.strip():
        raise InvalidInput(
            ErrorCode.CSV_COLUMNS_MISSING,
            "the first line must be the header; for structures: "
            f"{','.join(STRUCTURE_COLUMNS + SERVICE_COLUMNS)}; "
            f"for suppliers: {','.join(SUPPLIER_COLUMNS)}",
        )
    if 1 in source.flags:
        raise InvalidInput(ErrorCode.CSV_MALFORMED, f"header: {source.flags[1]}")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(chain([first], source), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        raise InvalidInput(ErrorCode.CSV_MALFORMED, f"header: unreadable CSV: {exc}") from None
    layout = _layout_of(header)
    rows = _rows(reader, source, header)
    entries = {
        Layout.STRUCTURES: _structure_entries,
        Layout.SUPPLIERS: _supplier_entries,
        Layout.COMMITMENTS: _commitment_entries,
    }[layout](rows)
    return DirectoryCsv(layout=layout, entries=entries)


class _PhysicalLines(Iterator[str]):
    """Decodes lines one by one and flags, by line number, those that cannot be read.

    A flagged line still reaches the csv reader (decoded with replacement characters, or
    emptied when too long) so quoting and line numbers stay right; the row it belongs to
    is then refused with the flag's reason.
    """

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines = lines
        self.number = 0
        self.flags: dict[int, str] = {}

    def __next__(self) -> str:
        raw = next(self.lines)
        self.number += 1
        if self.number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if len(raw) > MAX_LINE_BYTES:
            self.flags[self.number] = f"line longer than {MAX_LINE_BYTES} bytes"
            return "\n"
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.flags[self.number] = "not UTF-8 text (save the file as 'CSV UTF-8')"
            return raw.decode("utf-8", errors="replace")

    def flag_between(self, first: int, last: int) -> str | None:
        """The first flag on lines `first`..`last`, forgetting them (they are read once)."""
        found = [self.flags.pop(n) for n in range(first, last + 1) if n in self.flags]
        return found[0] if found else None


def _layout_of(header: list[str]) -> Layout:
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise InvalidInput(
            ErrorCode.CSV_MALFORMED, f"header: columns given twice: {', '.join(duplicated)}"
        )
    if "commitment" in header:
        layout, required = Layout.COMMITMENTS, list(COMMITMENT_COLUMNS)
    elif "siret" in header:
        layout, required = Layout.STRUCTURES, list(STRUCTURE_COLUMNS)
        if any(name in header for name in SERVICE_COLUMNS):
            required += SERVICE_COLUMNS
    elif "scheme" in header:
        layout, required = Layout.SUPPLIERS, list(SUPPLIER_COLUMNS)
    else:
        raise InvalidInput(
            ErrorCode.CSV_COLUMNS_MISSING,
            "the header names no 'siret' column (structures), 'scheme' column (suppliers) "
            f"or 'commitment' column (commitments); found: {', '.join(header)}",
        )
    missing = [name for name in required if name not in header]
    if missing:
        raise InvalidInput(
            ErrorCode.CSV_COLUMNS_MISSING,
            f"{layout} file without the column(s): {', '.join(missing)}; "
            f"expected: {','.join(required)}",
            missing=missing,
        )
    return layout


Row = tuple[int, dict[str, str]]


def _rows(
    reader: Iterator[list[str]], source: _PhysicalLines, header: list[str]
) -> Iterator[Row | LineError]:
    """Each non-blank row with the number of its first physical line, or why it is unreadable."""
    last = 1
    while True:
        first = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = source.number
            source.flag_between(first, last)
            yield LineError(first, ErrorCode.CSV_MALFORMED, f"unreadable CSV: {exc}")
            continue
        last = source.number
        flag = source.flag_between(first, last)
        if flag is not None:
            yield LineError(first, ErrorCode.CSV_MALFORMED, flag)
        elif not any(cell.strip() for cell in cells):
            continue  # blank lines, and the `,,,,` rows spreadsheets leave at the end
        elif len(cells) != len(header):
            yield LineError(
                first,
                ErrorCode.CSV_MALFORMED,
                f"{len(cells)} field(s) where the header has {len(header)}"
                + (
                    f" (a quote left open? the row spans lines {first}-{last})"
                    if last > first
                    else ""
                ),
            )
        else:
            values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
            control = next((name for name, value in values.items() if _CONTROL.search(value)), None)
            if control is not None:
                yield LineError(
                    first, ErrorCode.CSV_VALUE_INVALID, f"{control}: control characters"
                )
            else:
                yield first, values


def _structure_entries(rows: Iterator[Row | LineError]) -> Iterator[StructureRecord | LineError]:
    """Structures with their services; consecutive lines of one SIRET make one record.

    A SIRET met again later yields another record with the services of its new lines
    (upserts add services, never remove them); its structure columns must agree with
    the first line that gave them.
    """
    seen: dict[str, tuple[StructureRecord, int]] = {}
    seen_services: dict[tuple[str, str], tuple[ServiceRecord, int]] = {}
    group: StructureRecord | None = None
    services: list[ServiceRecord] = []
    for row in rows:
        if isinstance(row, LineError):
            yield row
            continue
        line, values = row
        try:
            structure, service = _structure_line(values)
            _check_agrees(seen, structure.siret, structure, f"SIRET {structure.siret}")
            if service is not None:
                key = (structure.siret, service.code)
                _check_agrees(seen_services, key, service, f"service {service.code!r}")
        except InvalidInput as exc:
            yield LineError(line, exc.code, exc.detail)
            continue
        seen.setdefault(structure.siret, (structure, line))
        if group is None or group.siret != structure.siret:
            if group is not None:
                yield replace(group, services=tuple(services))
            group, services = structure, []
        if service is not None and (structure.siret, service.code) not in seen_services:
            seen_services[structure.siret, service.code] = (service, line)
            services.append(service)
    if group is not None:
        yield replace(group, services=tuple(services))


def _supplier_entries(rows: Iterator[Row | LineError]) -> Iterator[SupplierRecord | LineError]:
    """Suppliers, one per line; a repeated identifier must repeat the same values."""
    seen: dict[tuple[str, str], tuple[SupplierRecord, int]] = {}
    for row in rows:
        if isinstance(row, LineError):
            yield row
            continue
        line, values = row
        try:
            supplier = _supplier_line(values)
            key = (supplier.scheme.value, supplier.identifier)
            _check_agrees(seen, key, supplier, f"{supplier.scheme} {supplier.identifier}")
        except InvalidInput as exc:
            yield LineError(line, exc.code, exc.detail)
            continue
        if key not in seen:
            seen[key] = (supplier, line)
            yield supplier


def _commitment_entries(rows: Iterator[Row | LineError]) -> Iterator[CommitmentRecord | LineError]:
    """Commitments, one per line; a repeated number must repeat the same values."""
    seen: dict[str, tuple[CommitmentRecord, int]] = {}
    for row in rows:
        if isinstance(row, LineError):
            yield row
            continue
        line, values = row
        try:
            commitment = _commitment_line(values)
            _check_agrees(seen, commitment.number, commitment, f"commitment {commitment.number}")
        except InvalidInput as exc:
            yield LineError(line, exc.code, exc.detail)
            continue
        if commitment.number not in seen:
            seen[commitment.number] = (commitment, line)
            yield commitment


K = TypeVar("K")
Described = TypeVar("Described", StructureRecord, ServiceRecord, SupplierRecord, CommitmentRecord)


def _check_agrees(
    seen: dict[K, tuple[Described, int]], key: K, record: Described, label: str
) -> None:
    """Refuse a line that describes a record already described differently in the file."""
    known = seen.get(key)
    if known is None or known[0] == record:
        return
    earlier, earlier_line = known
    differing = [
        f.name
        for f in fields(record)
        if f.name != "services" and getattr(record, f.name) != getattr(earlier, f.name)
    ]
    raise InvalidInput(
        ErrorCode.CSV_LINE_CONFLICT,
        f"{label} is described differently on line {earlier_line} ({', '.join(differing)})",
    )


def _structure_line(values: dict[str, str]) -> tuple[StructureRecord, ServiceRecord | None]:
    structure = StructureRecord(
        siret=_column(values, "siret", check_siret),
        name=_column(values, "name", _text(NAME_MAX_LENGTH)),
        category=_column(values, "category", _category),
        active=_flag(values, "active", default=True),
        service_code_required=_flag(values, "service_code_required", default=False),
        commitment_required=_flag(values, "commitment_required", default=False),
        payment_status_not_reported=_flag(values, "payment_status_not_reported", default=False),
        # An optional column, so files written before it existed import unchanged.
        commitment_ceiling_strict=_flag(values, "commitment_ceiling_strict", default=False),
    )
    if not any(values.get(name) for name in SERVICE_COLUMNS):
        return structure, None
    service = ServiceRecord(
        code=_column(values, "service_code", _text(SERVICE_CODE_MAX_LENGTH)),
        name=_column(values, "service_name", _text(NAME_MAX_LENGTH)),
        active=_flag(values, "service_active", default=True),
    )
    return structure, service


def _supplier_line(values: dict[str, str]) -> SupplierRecord:
    scheme = _column(values, "scheme", _scheme)
    return SupplierRecord(
        scheme=scheme,
        identifier=_column(values, "identifier", lambda value: check_identifier(scheme, value)),
        name=_column(values, "name", _text(NAME_MAX_LENGTH)),
        iban=_optional(values, "iban", check_iban),
        bic=_optional(values, "bic", check_bic),
        email=_optional(values, "email", _email),
    )


def _commitment_line(values: dict[str, str]) -> CommitmentRecord:
    return CommitmentRecord(
        number=_column(values, "commitment", _text(COMMITMENT_MAX_LENGTH)),
        buyer_siret=_column(values, "buyer_siret", check_siret),
        supplier_siret=_column(values, "supplier_siret", check_siret),
        ceiling=_column(values, "ceiling", _amount),
        service_done_presumed=_flag(values, "service_done_presumed", default=False),
        works=_flag(values, "works", default=False),
        paying_service=_optional(values, "paying_service", _text(SERVICE_CODE_MAX_LENGTH)),
        active=_flag(values, "active", default=True),
    )


def _amount(value: str) -> Decimal:
    """A positive amount in euros with at most two decimals (a comma is a decimal point)."""
    try:
        amount = Decimal(value.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(ErrorCode.CSV_VALUE_INVALID, f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_CEILING or amount != round(amount, 2):
        raise InvalidInput(
            ErrorCode.CSV_VALUE_INVALID, f"{value!r} is not a positive amount in cents"
        )
    return amount


def _column(values: dict[str, str], name: str, check: Callable[[str], T]) -> T:
    """The checked value of a required column; refusals name the column."""
    value = values[name]
    if not value:
        raise InvalidInput(ErrorCode.CSV_VALUE_MISSING, f"{name}: a value is required")
    try:
        return check(value)
    except InvalidInput as exc:
        raise InvalidInput(exc.code, f"{name}: {exc.detail}") from None


def _optional(values: dict[str, str], name: str, check: Callable[[str], T]) -> T | None:
    """The checked value of an optional column, None when empty."""
    return _column(values, name, check) if values[name] else None


def _flag(values: dict[str, str], name: str, *, default: bool) -> bool:
    """A yes/no column (true/false, 1/0, yes/no, oui/non, vrai/faux); empty is the default."""
    value = values.get(name, "").lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(
        ErrorCode.CSV_VALUE_INVALID, f"{name}: {value!r} is not one of true/false, oui/non, 1/0"
    )


def _text(max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > max_length:
            raise InvalidInput(ErrorCode.CSV_VALUE_INVALID, f"longer than {max_length} characters")
        return value

    return check


def _email(value: str) -> str:
    if len(value) > EMAIL_MAX_LENGTH:
        raise InvalidInput(ErrorCode.EMAIL_INVALID, f"longer than {EMAIL_MAX_LENGTH} characters")
    return check_email(value)


def _category(value: str) -> StructureCategory:
    """English names, or the French ones (État, collectivité, hôpital, autre), any case."""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    key = re.sub(r"[\s-]+", "_", plain.strip().upper())
    if key not in _CATEGORIES:
        raise InvalidInput(
            ErrorCode.CATEGORY_UNKNOWN,
            f"{value!r} is not one of {', '.join(StructureCategory)} (or ETAT, COLLECTIVITE, "
            "HOPITAL, AUTRE)",
        )
    return _CATEGORIES[key]


def _scheme(value: str) -> IdentifierScheme:
    try:
        return IdentifierScheme(value.upper())
    except ValueError:
        raise InvalidInput(
            ErrorCode.IDENTIFIER_SCHEME_UNKNOWN,
            f"{value!r} is not one of {', '.join(IdentifierScheme)}",
        ) from None
