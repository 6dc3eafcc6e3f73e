"""Bank files read back: camt.053/054 from the corpus (genkgo's parses as oracles), pain.002."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from core.config import Settings
from core.errors import ErrorCode, InvalidInput
from invoicing.payments.bank_returns import (
    BankFileKind,
    Direction,
    EntryStatus,
    read_bank_file,
)

SHARED = Settings().shared_dir
CAMT = SHARED / "corpus" / "payments" / "camt"
ISO_XSD = SHARED / "schemas" / "iso20022"
CAMT_FILES = sorted(CAMT.glob("*.xml"))
WRONG = "genkgo_camt053.v2.wrong.xml"  # a camt.053 without any statement
ORACLES = sorted(CAMT.glob("genkgo_*.json"))


@pytest.mark.parametrize("path", [p for p in CAMT_FILES if p.name != WRONG], ids=lambda p: p.name)
def test_every_corpus_camt_file_is_read(path: Path) -> None:
    bank_file = read_bank_file(path.read_bytes())
    assert bank_file.kind in {BankFileKind.CAMT_053, BankFileKind.CAMT_054}
    assert bank_file.message_id
    assert f"{bank_file.kind}.{bank_file.version}" in path.read_text(errors="replace")
    for entry in bank_file.entries:
        assert entry.status in {EntryStatus.CONFIRMED, EntryStatus.RETURNED, EntryStatus.PENDING}
        assert entry.end_to_end_id != "NOTPROVIDED"
        assert entry.amount is None or entry.amount >= 0


def test_a_camt053_without_statement_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        read_bank_file((CAMT / WRONG).read_bytes())
    assert refused.value.code == ErrorCode.BANK_FILE_INVALID


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every object of a genkgo JSON dump (repeated objects appear as "__RECURSIVITY__")."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def _money(money: dict[str, Any]) -> Decimal:
    """genkgo's Money: signed minor units (every currency of these files has 2 decimals)."""
    return abs(Decimal(money["getAmount"])).scaleb(-2)


@pytest.mark.parametrize("oracle", ORACLES, ids=lambda p: p.name)
def test_camt_entries_match_genkgos_parse(oracle: Path) -> None:
    expected = json.loads(oracle.read_text())
    ours = read_bank_file(oracle.with_suffix(".xml").read_bytes()).entries
    objects = list(_objects(expected))
    details = [o for o in objects if o.get("__CLASS__", "").endswith("\\EntryTransactionDetail")]
    bookings = [o for o in objects if o.get("__CLASS__") == "Genkgo\\Camt\\DTO\\Entry"]

    # End-to-end ids: every one genkgo read, as many times.
    theirs = Counter((d.get("getReference") or {}).get("getEndToEndId") for d in details)
    theirs.pop(None, None)
    assert not theirs - Counter(e.end_to_end_id for e in ours)
    # Transaction amounts, with their end-to-end id, where genkgo has one.
    pairs = {(e.end_to_end_id, e.amount) for e in ours}
    for detail in details:
        if detail.get("getAmount"):
            end_to_end_id = (detail.get("getReference") or {}).get("getEndToEndId")
            assert (end_to_end_id, _money(detail["getAmount"])) in pairs
    # An entry with a single transaction and no amount of its own: the entry's amount.
    for booking in bookings:
        listed = booking.get("getTransactionDetails") or []
        own_amount = isinstance(booking.get("getTransactionDetail"), dict) and booking[
            "getTransactionDetail"
        ].get("getAmount")
        if len(listed) <= 1 and not own_amount:
            assert any(
                e.amount == _money(booking["getAmount"])
                and e.direction == Direction(booking["getCreditDebitIndicator"])
                and e.status is EntryStatus.CONFIRMED
                for e in ours
            )
    assert len(ours) >= len(details)


def test_a_booked_debit_is_confirmed_with_its_dates_and_account() -> None:
    path = CAMT / "200519_camt.054-Debit_P_CH2909000000250094239_1110092692_0_2019042401501580.xml"
    (entry,) = read_bank_file(path.read_bytes()).entries
    assert entry.end_to_end_id == "20190424001255000100006"
    assert entry.status is EntryStatus.CONFIRMED
    assert (entry.amount, entry.currency, entry.direction) == (
        Decimal("913.00"),
        "CHF",
        Direction.DEBIT,
    )
    assert str(entry.booking_date) == "2019-04-25" and str(entry.value_date) == "2019-04-25"
    assert entry.account_iban == "CH2909000000250094239"


def test_a_returned_transfer_carries_its_reason() -> None:
    path = CAMT / "200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml"
    (entry,) = read_bank_file(path.read_bytes()).entries
    assert entry.end_to_end_id == "EndToEndId-004-01-01"
    assert entry.status is EntryStatus.RETURNED
    assert (entry.reason_code, entry.additional_info) == ("AC01", "Kontonummer falsch")


def test_entries_without_end_to_end_id_are_kept_as_unmatchable() -> None:
    entries = read_bank_file((CAMT / "statement_1.xml").read_bytes()).entries  # NOTPROVIDED
    assert len(entries) == 4
    assert all(entry.end_to_end_id is None for entry in entries)
    fi = read_bank_file((CAMT / "FI_camt_053_sample.xml.xml").read_bytes()).entries
    assert any(entry.end_to_end_id is None for entry in fi)


def test_a_batch_booking_lists_each_transaction() -> None:
    entries = read_bank_file((CAMT / "genkgo_camt054.v8.xml").read_bytes()).entries
    assert [e.end_to_end_id for e in entries] == [
        "UXC06170000006PI00001EE00001",
        "UXC06170000006PI00001EE00002",
        "UXC06170000006PI00001EE00002",
    ]
    assert [e.amount for e in entries] == [Decimal("3.1"), Decimal("3.2"), Decimal("3.2")]


PAIN002_V10 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt>
    <GrpHdr>
      <MsgId>STS-2024-0001</MsgId>
      <CreDtTm>2024-05-03T08:00:00+02:00</CreDtTm>
    </GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>RUN-20240502</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>RUN-20240502</OrgnlPmtInfId>
      <TxInfAndSts>
        <OrgnlEndToEndId>RUN-0000001</OrgnlEndToEndId>
        <TxSts>ACCP</TxSts>
        <OrgnlTxRef>
          <Amt><InstdAmt Ccy="EUR">1200.00</InstdAmt></Amt>
          <DbtrAcct><Id><IBAN>FR7630001006400000001234552</IBAN></Id></DbtrAcct>
        </OrgnlTxRef>
      </TxInfAndSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>RUN-0000002</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf>
          <Rsn><Cd>AC04</Cd></Rsn>
          <AddtlInf>Account closed</AddtlInf>
        </StsRsnInf>
        <OrgnlTxRef>
          <Amt><InstdAmt Ccy="EUR">80.50</InstdAmt></Amt>
        </OrgnlTxRef>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
"""

# The EPC subset of pain.002.001.03 reports rejections only (its XSD allows no other code).
PAIN002_V03_REJECTIONS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr>
      <MsgId>STS-2024-0002</MsgId>
      <CreDtTm>2024-05-03T08:00:00</CreDtTm>
      <DbtrAgt><FinInstnId><BIC>BDFEFRPPCCT</BIC></FinInstnId></DbtrAgt>
    </GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>RUN-20240502</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>RUN-20240502</OrgnlPmtInfId>
      <TxInfAndSts>
        <OrgnlEndToEndId>RUN-0000002</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>
        <OrgnlTxRef>
          <Amt><InstdAmt Ccy="EUR">80.50</InstdAmt></Amt>
          <ReqdExctnDt>2024-05-03</ReqdExctnDt>
        </OrgnlTxRef>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
"""

# The same report in full ISO 20022 form, as French banks send it: an accepted transaction too.
PAIN002_V03 = PAIN002_V03_REJECTIONS.replace(
    b"      <TxInfAndSts>",
    b"""      <TxInfAndSts>
        <OrgnlEndToEndId>RUN-0000001</OrgnlEndToEndId>
        <TxSts>ACCP</TxSts>
        <OrgnlTxRef><Amt><InstdAmt Ccy="EUR">1200.00</InstdAmt></Amt></OrgnlTxRef>
      </TxInfAndSts>
      <TxInfAndSts>""",
    1,
)


def _xsd_errors(data: bytes, xsd: str) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(ISO_XSD / xsd)))
    schema.validate(etree.fromstring(data))
    return [entry.message for entry in schema.error_log]


def test_the_pain002_examples_are_valid_against_the_shared_xsds() -> None:
    assert _xsd_errors(PAIN002_V10, "pain.002.001.10.xsd") == []
    assert _xsd_errors(PAIN002_V03_REJECTIONS, "dk-epc-subset/pain.002.001.03.xsd") == []
    (only_rjct,) = _xsd_errors(PAIN002_V03, "dk-epc-subset/pain.002.001.03.xsd")
    assert "'ACCP'" in only_rjct  # the DK/EPC subset's restriction, not an error of the file


def test_a_pain002_v10_reports_an_accepted_and_a_rejected_transfer() -> None:
    report = read_bank_file(PAIN002_V10)
    assert (report.kind, report.version, report.message_id) == (
        BankFileKind.PAIN_002,
        "001.10",
        "STS-2024-0001",
    )
    assert report.original_message_id == "RUN-20240502"
    accepted, rejected = report.entries
    assert (accepted.end_to_end_id, accepted.status, accepted.reason_code) == (
        "RUN-0000001",
        EntryStatus.ACCEPTED,
        None,
    )
    assert (accepted.amount, accepted.currency) == (Decimal("1200.00"), "EUR")
    assert accepted.account_iban == "FR7630001006400000001234552"
    assert (rejected.end_to_end_id, rejected.status, rejected.reason_code) == (
        "RUN-0000002",
        EntryStatus.REJECTED,
        "AC04",
    )
    assert rejected.additional_info == "Account closed"


def test_a_pain002_v03_reports_an_accepted_and_a_rejected_transfer() -> None:
    report = read_bank_file(PAIN002_V03)
    assert (report.kind, report.version) == (BankFileKind.PAIN_002, "001.03")
    assert [(e.end_to_end_id, e.status, e.reason_code) for e in report.entries] == [
        ("RUN-0000001", EntryStatus.ACCEPTED, None),
        ("RUN-0000002", EntryStatus.REJECTED, "AC04"),
    ]
    (rejected,) = read_bank_file(PAIN002_V03_REJECTIONS).entries
    assert (rejected.status, rejected.reason_code, rejected.amount) == (
        EntryStatus.REJECTED,
        "AC04",
        Decimal("80.50"),
    )


def test_a_rejected_file_without_transactions_is_one_unmatched_rejection() -> None:
    whole_file = PAIN002_V10.replace(
        b"<GrpSts>PART</GrpSts>",
        b"""<GrpSts>RJCT</GrpSts>
      <StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>""",
    )
    whole_file = whole_file[: whole_file.index(b"<OrgnlPmtInfAndSts>")] + (
        b"</CstmrPmtStsRpt></Document>"
    )
    assert _xsd_errors(whole_file, "pain.002.001.10.xsd") == []
    report = read_bank_file(whole_file)
    (entry,) = report.entries
    assert (entry.end_to_end_id, entry.status, entry.reason_code) == (
        None,
        EntryStatus.REJECTED,
        "FF01",
    )
    assert report.original_message_id == "RUN-20240502"


def test_a_transaction_without_status_takes_its_payment_information_status() -> None:
    data = PAIN002_V10.replace(b"<TxSts>ACCP</TxSts>", b"").replace(
        b"<OrgnlPmtInfId>RUN-20240502</OrgnlPmtInfId>",
        b"<OrgnlPmtInfId>RUN-20240502</OrgnlPmtInfId><PmtInfSts>ACTC</PmtInfSts>",
    )
    assert _xsd_errors(data, "pain.002.001.10.xsd") == []
    assert read_bank_file(data).entries[0].status is EntryStatus.ACCEPTED


@pytest.mark.parametrize(
    "data",
    [
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"/>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.10"/>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.05"/>',
        b'<Other xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>',
        b"<Document/>",
        b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>",
    ],
)
def test_other_documents_are_unknown(data: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_bank_file(data)
    assert refused.value.code == ErrorCode.BANK_FILE_UNKNOWN


def _genkgo_v8() -> bytes:
    return (CAMT / "genkgo_camt054.v8.xml").read_bytes()


@pytest.mark.parametrize(
    "data",
    [
        _genkgo_v8().replace(b"<MsgId>AAAASESS-FP-ACCR001</MsgId>", b"", 1),
        _genkgo_v8().replace(b'<Amt Ccy="SEK">200000</Amt>', b'<Amt Ccy="SEK">lots</Amt>'),
        _genkgo_v8().replace(b'<Amt Ccy="SEK">200000</Amt>', b'<Amt Ccy="SEK">-5</Amt>'),
        _genkgo_v8().replace(b'<Amt Ccy="SEK">200000</Amt>', b"<Amt>200000</Amt>"),
        _genkgo_v8().replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>", 1),
        _genkgo_v8().replace(b"<Dt>2007-10-18</Dt>", b"<Dt>18/10/2007</Dt>", 1),
        _genkgo_v8().replace(b"<Sts>", b"<Status>", 1).replace(b"</Sts>", b"</Status>", 1),
        PAIN002_V10.replace(b"<OrgnlMsgId>RUN-20240502</OrgnlMsgId>", b""),
        PAIN002_V10.replace(b'<InstdAmt Ccy="EUR">80.50', b'<InstdAmt Ccy="EUR">NaN'),
    ],
)
def test_unreadable_values_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_bank_file(data)
    assert refused.value.code == ErrorCode.BANK_FILE_INVALID


HARDENING = SHARED / "corpus" / "xml-hardening"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in HARDENING.iterdir() if not p.name.startswith("simple")),
    ids=lambda p: p.name,
)
def test_hostile_xml_is_refused_by_the_hardened_parser(path: Path) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_bank_file(path.read_bytes())
    assert refused.value.code in {
        ErrorCode.XML_DOCTYPE_FORBIDDEN,
        ErrorCode.XML_NOT_WELL_FORMED,
        ErrorCode.XML_TOO_DEEP,
    }


def test_not_xml_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        read_bank_file(b"MT940 :20:STARTUMSE")
    assert refused.value.code == ErrorCode.XML_NOT_WELL_FORMED
