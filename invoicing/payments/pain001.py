"""pain.001 credit transfer initiations: written as a stream, checked as a stream.

Writing. The group header states the number of transactions and their sum before the first
transaction, and a file is never held in memory, so by default `write_pain001` reads
`transfers` twice: a first pass counts, sums and checks them (types, duplicate end-to-end
ids), the second writes them one by one with `lxml.etree.xmlfile` and counts again.
`transfers` must then be re-iterable (a list, a tuple, or an object whose `__iter__` starts
over); a one-shot iterator is refused. The totals are thus computed from the transfers
themselves, never taken on trust. A caller that already has them (a SQL `count`/`sum` next
to a streamed query that cannot be run twice) passes `count` and `control_sum`: one pass,
and the totals written are checked against the transfers at the end (a mismatch raises:
the file must then be discarded). Memory: the writer keeps only the set of end-to-end ids
seen (about 100 bytes a transfer); the document itself is never built.

One debtor account and one execution date per call, hence one `PmtInf` per file: a payment
run with several paying accounts or dates writes one file each (EPC: one batch per debtor
account and requested execution date).

Checking. `validate_pain001` validates against the official ISO 20022 XSD in the shared
folder with `etree.iterparse(..., schema=...)`: libxml2 validates while it parses, and each
transaction is dropped once read, so a 100,000-transfer file (35 MB) is checked in constant
memory (measured: +0.1 MB peak, against +290 MB for `XMLSchema.validate` on a parsed tree,
at about the same speed). It also checks that the headers' counts and sums match the
transactions, which no XSD can say. The parser is hardened like `invoicing.parsing.parse_xml`
(a DOCTYPE is refused, hence no entity; no network; libxml2's size and depth limits) but
streams, and so takes files larger than `parse_xml`'s 20 MB.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, get_args

from lxml import etree

from core.config import Settings
from core.errors import ErrorCode, InvalidInput
from invoicing.payments.transfers import (
    NOT_PROVIDED,
    Debtor,
    PaymentFile,
    Transfer,
    check_sepa_identifier,
)

Pain001Version = Literal["001.001.09", "001.001.03"]
VERSIONS: tuple[Pain001Version, ...] = get_args(Pain001Version)
MAX_REPORTED_ERRORS = 20


def namespace(version: Pain001Version) -> str:
    """The XML namespace of a pain.001 version."""
    return f"urn:iso:std:iso:20022:tech:xsd:pain.{version}"


def _refuse(field: str, detail: str) -> InvalidInput:
    return InvalidInput(ErrorCode.PAYMENT_INPUT_INVALID, detail, field=field)


class _Tally:
    """Counts and sums transfers, refusing what is not a `Transfer` and repeated end-to-end ids
    (returns are matched on them: they must be unique in a file)."""

    def __init__(self, *, unique: bool) -> None:
        self.count = 0
        self.total = Decimal(0)
        self.seen: set[str] | None = set() if unique else None

    def add(self, transfer: Transfer) -> None:
        if not isinstance(transfer, Transfer):
            raise _refuse("transfers", f"not a Transfer: {type(transfer).__name__}")
        if self.seen is not None:
            if transfer.end_to_end_id in self.seen:
                raise _refuse(
                    "transfers", f"end_to_end_id {transfer.end_to_end_id!r} appears more than once"
                )
            self.seen.add(transfer.end_to_end_id)
        self.count += 1
        self.total += transfer.amount


def _declared_totals(count: object, control_sum: object) -> tuple[int, Decimal]:
    """The caller's count and sum, when it has them (a SQL aggregate): checked, not trusted."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _refuse("count", f"count must be a positive integer, not {count!r}")
    if (
        not isinstance(control_sum, Decimal)
        or not control_sum.is_finite()
        or control_sum <= 0
        or control_sum != control_sum.quantize(Decimal("0.01"))
    ):
        raise _refuse("control_sum", f"control_sum must be a Decimal in cents, not {control_sum!r}")
    return count, control_sum


def write_pain001(
    out: BinaryIO,
    debtor: Debtor,
    transfers: Iterable[Transfer],
    *,
    version: Pain001Version,
    message_id: str,
    created_at: datetime,
    execution_date: date,
    count: int | None = None,
    control_sum: Decimal | None = None,
) -> PaymentFile:
    """Stream a pain.001 file of `transfers` from `debtor`'s account into `out`.

    Without `count` and `control_sum`, `transfers` is read twice and must be re-iterable
    (see the module docstring). With both, it is read once (a one-shot stream will do) and
    the file is written with those totals; transfers that do not add up to them raise
    `PAYMENT_INPUT_INVALID` once the file is written: discard it. Returns the group header.
    """
    if version not in VERSIONS:
        raise _refuse("version", f"pain.001 version {version!r} is not one of {VERSIONS}")
    if not isinstance(debtor, Debtor):
        raise _refuse("debtor", f"not a Debtor: {type(debtor).__name__}")
    check_sepa_identifier(message_id, "message_id")
    if not isinstance(created_at, datetime) or created_at.utcoffset() is None:
        raise _refuse("created_at", "created_at must be a datetime with a time zone")
    if not isinstance(execution_date, date) or isinstance(execution_date, datetime):
        raise _refuse("execution_date", "execution_date must be a date")
    if count is None and control_sum is None:
        if iter(transfers) is transfers:
            raise _refuse(
                "transfers",
                "transfers must be re-iterable (a list, a tuple...), or count and control_sum "
                "given: the group header needs them before the first transfer is written",
            )
        first_pass = _Tally(unique=True)
        for transfer in transfers:
            first_pass.add(transfer)
        if first_pass.count == 0:
            raise _refuse("transfers", "a payment file needs at least one transfer")
        declared = first_pass.count, first_pass.total
        written = _Tally(unique=False)
    else:
        declared = _declared_totals(count, control_sum)
        written = _Tally(unique=True)
    header = PaymentFile(message_id, created_at.replace(microsecond=0), *declared)

    ns = namespace(version)
    q = {name: f"{{{ns}}}{name}" for name in _TAGS}
    bic_tag = q["BICFI"] if version == "001.001.09" else q["BIC"]
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(q["Document"], nsmap={None: ns}), xf.element(q["CstmrCdtTrfInitn"]):
            xf.write("\n")
            _write_group_header(xf, q, header, debtor)
            xf.write("\n")
            with xf.element(q["PmtInf"]):
                _write_payment_information(xf, q, bic_tag, header, debtor, execution_date, version)
                for transfer in transfers:
                    written.add(transfer)
                    xf.write("\n")  # one transaction a line: readable, and located by line
                    _write_transaction(xf, q, bic_tag, transfer)
            xf.write("\n")
    if (written.count, written.total) != declared:
        raise _refuse(
            "transfers",
            f"the header says {declared[0]} transfers for {declared[1]}, {written.count} for "
            f"{written.total} were written (changed between passes?): discard the file",
        )
    return header


class _XmlWriter(Protocol):
    """What `etree.xmlfile` yields (lxml's `_IncrementalFileWriter`, not exported)."""

    def element(self, tag: str, **attributes: str) -> AbstractContextManager[None]: ...

    def write(self, *content: str) -> None: ...


_TAGS = (
    "Document CstmrCdtTrfInitn GrpHdr MsgId CreDtTm NbOfTxs CtrlSum InitgPty Nm PmtInf "
    "PmtInfId PmtMtd PmtTpInf SvcLvl Cd ReqdExctnDt Dt Dbtr DbtrAcct Id IBAN DbtrAgt FinInstnId "
    "BICFI BIC Othr ChrgBr CdtTrfTxInf PmtId EndToEndId Amt InstdAmt CdtrAgt Cdtr CdtrAcct "
    "RmtInf Ustrd"
).split()


def _leaf(xf: _XmlWriter, tag: str, text: str) -> None:
    with xf.element(tag):
        xf.write(text)


def _write_group_header(
    xf: _XmlWriter, q: dict[str, str], header: PaymentFile, debtor: Debtor
) -> None:
    with xf.element(q["GrpHdr"]):
        _leaf(xf, q["MsgId"], header.message_id)
        _leaf(xf, q["CreDtTm"], header.created_at.isoformat(timespec="seconds"))
        _leaf(xf, q["NbOfTxs"], str(header.number_of_transactions))
        _leaf(xf, q["CtrlSum"], f"{header.control_sum:.2f}")
        with xf.element(q["InitgPty"]):
            _leaf(xf, q["Nm"], debtor.name)


def _write_agent(xf: _XmlWriter, q: dict[str, str], tag: str, bic_tag: str, bic: str) -> None:
    with xf.element(tag), xf.element(q["FinInstnId"]):
        _leaf(xf, bic_tag, bic)


def _write_payment_information(
    xf: _XmlWriter,
    q: dict[str, str],
    bic_tag: str,
    header: PaymentFile,
    debtor: Debtor,
    execution_date: date,
    version: Pain001Version,
) -> None:
    _leaf(xf, q["PmtInfId"], header.message_id)  # one PmtInf per file: the message's id
    _leaf(xf, q["PmtMtd"], "TRF")
    _leaf(xf, q["NbOfTxs"], str(header.number_of_transactions))
    _leaf(xf, q["CtrlSum"], f"{header.control_sum:.2f}")
    with xf.element(q["PmtTpInf"]), xf.element(q["SvcLvl"]):
        _leaf(xf, q["Cd"], "SEPA")
    if version == "001.001.09":  # 2019 messages: a choice of date or date-time
        with xf.element(q["ReqdExctnDt"]):
            _leaf(xf, q["Dt"], execution_date.isoformat())
    else:
        _leaf(xf, q["ReqdExctnDt"], execution_date.isoformat())
    with xf.element(q["Dbtr"]):
        _leaf(xf, q["Nm"], debtor.name)
    with xf.element(q["DbtrAcct"]), xf.element(q["Id"]):
        _leaf(xf, q["IBAN"], debtor.iban)
    if debtor.bic:
        _write_agent(xf, q, q["DbtrAgt"], bic_tag, debtor.bic)
    else:  # EPC: the debtor agent is mandatory; without a BIC it is "not provided"
        with xf.element(q["DbtrAgt"]), xf.element(q["FinInstnId"]), xf.element(q["Othr"]):
            _leaf(xf, q["Id"], NOT_PROVIDED)
    _leaf(xf, q["ChrgBr"], "SLEV")  # SEPA: charges follow the scheme's service level


def _write_transaction(xf: _XmlWriter, q: dict[str, str], bic_tag: str, transfer: Transfer) -> None:
    with xf.element(q["CdtTrfTxInf"]):
        with xf.element(q["PmtId"]):
            _leaf(xf, q["EndToEndId"], transfer.end_to_end_id)
        with xf.element(q["Amt"]), xf.element(q["InstdAmt"], Ccy=transfer.currency):
            xf.write(f"{transfer.amount:.2f}")
        if transfer.creditor_bic:  # optional since 2016 for SEPA (IBAN only)
            _write_agent(xf, q, q["CdtrAgt"], bic_tag, transfer.creditor_bic)
        with xf.element(q["Cdtr"]):
            _leaf(xf, q["Nm"], transfer.creditor_name)
        with xf.element(q["CdtrAcct"]), xf.element(q["Id"]):
            _leaf(xf, q["IBAN"], transfer.creditor_iban)
        with xf.element(q["RmtInf"]):
            _leaf(xf, q["Ustrd"], transfer.remittance)


class _Schemas:
    """The pain.001 XSDs this process has compiled, one per (folder, version).

    A compiled schema is only read by validations: each `iterparse(schema=...)` makes its
    own validation context, so threads can share one without a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[Path, etree.XMLSchema] = {}

    def get(self, version: Pain001Version, schema_dir: Path | None) -> etree.XMLSchema:
        """The compiled XSD of `version`, compiled on first use."""
        folder = schema_dir or Settings().shared_dir / "schemas" / "iso20022"
        path = (folder / f"pain.{version}.xsd").resolve()
        with self._lock:
            schema = self._loaded.get(path)
            if schema is None:
                if not path.is_file():
                    raise FileNotFoundError(f"pain.001 schema missing: {path}")
                parser = etree.XMLParser(resolve_entities=False, no_network=True)
                schema = self._loaded[path] = etree.XMLSchema(etree.parse(str(path), parser))
            return schema


_schemas = _Schemas()


def pain001_schema(version: Pain001Version, schema_dir: Path | None = None) -> etree.XMLSchema:
    """The official XSD of a pain.001 version, compiled once per process.

    `schema_dir` defaults to `Settings().shared_dir / "schemas" / "iso20022"`.
    """
    if version not in VERSIONS:
        raise _refuse("version", f"pain.001 version {version!r} is not one of {VERSIONS}")
    return _schemas.get(version, schema_dir)


def _file_invalid(detail: str, **extra: object) -> InvalidInput:
    return InvalidInput(ErrorCode.PAYMENT_FILE_INVALID, detail, **extra)


def _errors(log: etree._ListErrorLog) -> list[etree._LogEntry]:
    return [entry for entry in log if entry.level >= etree.ErrorLevels.ERROR]


def _refusal(errors: list[etree._LogEntry], fallback: str = "") -> InvalidInput:
    """The coded error for libxml2's errors: not XML at all, or XML the XSD refuses."""
    if not errors:  # lxml words these "line 9: b'...'"
        message = re.sub(r"b'(.*)'", r"\1", fallback)
        return InvalidInput(ErrorCode.XML_NOT_WELL_FORMED, f"not well-formed XML: {message}")
    reported = [
        {"line": entry.line or None, "message": entry.message}
        for entry in errors[:MAX_REPORTED_ERRORS]
    ]
    if any(entry.domain != etree.ErrorDomains.SCHEMASV for entry in errors):
        return InvalidInput(
            ErrorCode.XML_NOT_WELL_FORMED, f"not well-formed XML: {errors[0].message}"
        )
    return _file_invalid(
        f"{len(errors)} XSD error(s), the first: {errors[0].message}", errors=reported
    )


class _Reading:
    """What the streamed check gathers: the group header and running totals."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.header: dict[str, str | None] = {}
        self.count = 0
        self.total = Decimal(0)
        self.batch: etree._Element | None = None  # the PmtInf being read
        self.batch_id = ""
        self.batch_declared: tuple[str | None, str | None] = (None, None)
        self.batch_count = 0
        self.batch_total = Decimal(0)

    def amount(self, transaction: etree._Element) -> Decimal:
        ns = self.ns
        text = transaction.findtext(f"{{{ns}}}Amt/{{{ns}}}InstdAmt") or transaction.findtext(
            f"{{{ns}}}Amt/{{{ns}}}EqvtAmt/{{{ns}}}Amt"
        )
        return _decimal(text, "transaction amount")

    def transaction(self, transaction: etree._Element) -> None:
        parent = transaction.getparent()
        if parent is not self.batch:  # first transaction of a PmtInf: its header is still there
            self.close_batch()
            self.batch = parent
            ns = self.ns
            self.batch_id = parent.findtext(f"{{{ns}}}PmtInfId") or ""
            self.batch_declared = (
                parent.findtext(f"{{{ns}}}NbOfTxs"),
                parent.findtext(f"{{{ns}}}CtrlSum"),
            )
        amount = self.amount(transaction)
        self.count += 1
        self.total += amount
        self.batch_count += 1
        self.batch_total += amount

    def close_batch(self) -> None:
        if self.batch is None:
            return
        _check_totals(
            f"payment information {self.batch_id}",
            self.batch_declared,
            self.batch_count,
            self.batch_total,
        )
        self.batch_count, self.batch_total = 0, Decimal(0)


def _decimal(text: str | None, what: str) -> Decimal:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        raise _file_invalid(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise _file_invalid(f"{what} {text!r} is not a number")
    return value


def _check_totals(
    where: str, declared: tuple[str | None, str | None], count: int, total: Decimal
) -> None:
    number, control_sum = declared
    if number is not None and int(number) != count:
        raise _file_invalid(f"{where} declares {number} transactions and holds {count}")
    if control_sum is not None and _decimal(control_sum, "control sum") != total:
        raise _file_invalid(f"{where} declares a control sum of {control_sum}, the sum is {total}")


def validate_pain001(
    source: bytes | str | os.PathLike[str] | BinaryIO,
    version: Pain001Version,
    *,
    schema_dir: Path | None = None,
) -> PaymentFile:
    """Check a pain.001 file (bytes, a path or a seekable binary file) against its XSD and its
    own totals, streamed.

    Returns its group header; refuses it with `PAYMENT_FILE_INVALID` (XSD errors in
    `extra["errors"]`, or totals that do not add up), `XML_NOT_WELL_FORMED` or
    `XML_DOCTYPE_FORBIDDEN`.
    """
    schema = pain001_schema(version, schema_dir)
    stream: BinaryIO | str
    if isinstance(source, bytes):
        _check_prolog(source)
        stream = io.BytesIO(source)
    elif hasattr(source, "read"):
        start = source.tell()
        _check_prolog(source.read(MAX_PROLOG_BYTES))
        source.seek(start)
        stream = source
    else:
        stream = os.fspath(source)
        with open(stream, "rb") as head:
            _check_prolog(head.read(MAX_PROLOG_BYTES))
    ns = namespace(version)
    document, group_header, transaction = (
        f"{{{ns}}}Document",
        f"{{{ns}}}GrpHdr",
        f"{{{ns}}}CdtTrfTxInf",
    )
    reading = _Reading(ns)
    # Not `resolve_entities=False`: with a schema, lxml 6.1 then reports no error for a
    # truncated file. Without a DOCTYPE (refused above) no entity can be declared anyway.
    events = etree.iterparse(
        stream,
        events=("end",),
        tag=(document, group_header, transaction),
        schema=schema,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
    )
    complete = False
    try:
        for _, element in events:
            if errors := _errors(events.error_log):  # fail fast: the rest cannot make it valid
                raise _refusal(errors)
            if element.tag == transaction:
                reading.transaction(element)
            elif element.tag == group_header:
                reading.header = {
                    name: element.findtext(f"{{{ns}}}{name}")
                    for name in ("MsgId", "CreDtTm", "NbOfTxs", "CtrlSum")
                }
            else:
                complete = element.getparent() is None
                continue
            element.clear()
            while element.getprevious() is not None:  # drop what was read
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:  # its own error_log also holds earlier parses' errors
        raise _refusal(_errors(events.error_log), str(exc)) from None
    if errors := _errors(events.error_log):
        raise _refusal(errors)
    if not complete:
        raise InvalidInput(ErrorCode.XML_NOT_WELL_FORMED, "the document ends before its root does")
    if events.root is not None and events.root.getroottree().docinfo.doctype:
        raise InvalidInput(ErrorCode.XML_DOCTYPE_FORBIDDEN, "a DOCTYPE is not allowed")
    reading.close_batch()
    return _header(reading)


MAX_PROLOG_BYTES = 64 * 1024
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def _check_prolog(head: bytes) -> None:
    """Refuse a DOCTYPE before parsing, as `parse_xml` does, in a prolog we can read as bytes.

    ISO 20022 messages are UTF-8: a file in another encoding (UTF-16 would hide a DOCTYPE
    from this scan) or whose root does not start in its first 64 KiB is refused.
    """
    if b"\x00" in head or not head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        raise InvalidInput(ErrorCode.XML_NOT_WELL_FORMED, "not UTF-8 XML")
    root = _ROOT_START.search(head, 0, MAX_PROLOG_BYTES)
    if root is None:
        raise InvalidInput(ErrorCode.XML_NOT_WELL_FORMED, "no root element in the first 64 KiB")
    if _DOCTYPE.search(head, 0, root.start()):
        raise InvalidInput(ErrorCode.XML_DOCTYPE_FORBIDDEN, "a DOCTYPE is not allowed")


def _header(reading: _Reading) -> PaymentFile:
    header = reading.header
    if not header:
        raise _file_invalid("no group header")
    number, control_sum = header["NbOfTxs"], header["CtrlSum"]
    _check_totals("the group header", (number, control_sum), reading.count, reading.total)
    try:
        created_at = datetime.fromisoformat(header["CreDtTm"] or "")
    except ValueError:
        raise _file_invalid(f"creation time {header['CreDtTm']!r} is not readable") from None
    total = reading.total if control_sum is None else _decimal(control_sum, "control sum")
    return PaymentFile(header["MsgId"] or "", created_at, reading.count, total)
