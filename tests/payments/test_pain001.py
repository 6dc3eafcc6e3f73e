"""pain.001 files: written streamed, valid against the official XSDs, totals that add up."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from core.config import Settings
from core.errors import ErrorCode, InvalidInput
from invoicing.payments.pain001 import (
    VERSIONS,
    Pain001Version,
    namespace,
    pain001_schema,
    validate_pain001,
    write_pain001,
)
from invoicing.payments.transfers import Debtor, PaymentFile, Transfer
from tests.payments.builders import (
    CREATED_AT,
    DEBTOR_IBAN,
    EXECUTION_DATE,
    ManyTransfers,
    a_debtor,
    a_transfer,
)

PAIN001_CORPUS = Settings().shared_dir / "corpus" / "payments" / "pain001"


def a_file(
    transfers: Any = None, version: Pain001Version = "001.001.09", **overrides: Any
) -> tuple[bytes, PaymentFile]:
    """A pain.001 file in memory, and the header `write_pain001` returned."""
    out = io.BytesIO()
    arguments: dict[str, Any] = {
        "version": version,
        "message_id": "RUN-20240502",
        "created_at": CREATED_AT,
        "execution_date": EXECUTION_DATE,
    }
    debtor = overrides.pop("debtor", a_debtor())
    header = write_pain001(
        out,
        debtor,
        ManyTransfers(5) if transfers is None else transfers,
        **(arguments | overrides),
    )
    return out.getvalue(), header


def xsd_errors(data: bytes, version: Pain001Version) -> list[str]:
    """The official XSD run on a parsed tree, as a second opinion on the streamed check."""
    schema = pain001_schema(version)
    schema.validate(etree.fromstring(data))
    return [entry.message for entry in schema.error_log]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_generated_file_is_valid_against_its_xsd(version: Pain001Version) -> None:
    for transfers, debtor in [
        (ManyTransfers(1), a_debtor()),
        (ManyTransfers(250), a_debtor(bic=None)),
        (
            [a_transfer(creditor_name="Société <Générale> & Cie", remittance="n° 12 'été'")],
            a_debtor(),
        ),
    ]:
        data, header = a_file(transfers, version, debtor=debtor)
        assert xsd_errors(data, version) == []
        assert validate_pain001(data, version) == header


@pytest.mark.parametrize("version", VERSIONS)
def test_count_and_control_sum_survive_the_round_trip(version: Pain001Version) -> None:
    transfers = ManyTransfers(1_000)
    data, header = a_file(transfers, version)
    assert header == PaymentFile("RUN-20240502", CREATED_AT, 1_000, transfers.total())
    assert validate_pain001(data, version) == header

    root = etree.fromstring(data)
    ns = {"p": namespace(version)}
    assert root.xpath("count(//p:CdtTrfTxInf)", namespaces=ns) == 1_000
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == str(
        transfers.total()
    )
    written = [
        (
            tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns),
            Decimal(tx.findtext("p:Amt/p:InstdAmt", namespaces=ns)),
            tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns),
        )
        for tx in root.iterfind(".//p:CdtTrfTxInf", namespaces=ns)
    ]
    assert written == [(t.end_to_end_id, t.amount, t.remittance) for t in transfers]


def test_version_09_uses_bicfi_and_a_date_choice() -> None:
    data, _ = a_file([a_transfer()], "001.001.09")
    text = data.decode()
    assert "<BICFI>BNPAFRPP</BICFI>" in text and "<BIC>" not in text
    assert "<ReqdExctnDt><Dt>2024-05-03</Dt></ReqdExctnDt>" in text


def test_version_03_uses_bic_and_a_plain_date() -> None:
    data, _ = a_file([a_transfer()], "001.001.03")
    text = data.decode()
    assert "<BIC>BNPAFRPP</BIC>" in text and "BICFI" not in text
    assert "<ReqdExctnDt>2024-05-03</ReqdExctnDt>" in text


def test_one_payment_information_with_sepa_service_level_and_shared_charges() -> None:
    data, _ = a_file(ManyTransfers(3))
    root = etree.fromstring(data)
    ns = {"p": namespace("001.001.09")}
    (batch,) = root.findall(".//p:PmtInf", ns)
    assert batch.findtext("p:PmtTpInf/p:SvcLvl/p:Cd", namespaces=ns) == "SEPA"
    assert batch.findtext("p:ChrgBr", namespaces=ns) == "SLEV"
    assert batch.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == DEBTOR_IBAN
    assert batch.findtext("p:NbOfTxs", namespaces=ns) == "3"


def test_a_debtor_without_bic_gets_a_not_provided_agent() -> None:
    data, _ = a_file([a_transfer()], debtor=a_debtor(bic=None))
    assert b"<DbtrAgt><FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId></DbtrAgt>" in data


def test_a_creditor_without_bic_has_no_creditor_agent() -> None:
    data, _ = a_file([a_transfer(creditor_bic=None)])
    assert b"<CdtrAgt>" not in data


def test_a_path_is_validated_like_bytes(tmp_path: Path) -> None:
    path = tmp_path / "run.xml"
    with path.open("wb") as out:
        header = write_pain001(
            out,
            a_debtor(),
            ManyTransfers(10),
            version="001.001.09",
            message_id="RUN-1",
            created_at=CREATED_AT,
            execution_date=EXECUTION_DATE,
        )
    assert validate_pain001(path, "001.001.09") == header
    assert validate_pain001(str(path), "001.001.09") == header


def test_with_known_totals_a_one_shot_stream_is_written_in_one_pass() -> None:
    transfers = ManyTransfers(50)
    data, header = a_file(
        (transfer for transfer in transfers), count=50, control_sum=transfers.total()
    )
    assert header == PaymentFile("RUN-20240502", CREATED_AT, 50, transfers.total())
    assert validate_pain001(data, "001.001.09") == header


@pytest.mark.parametrize(
    ("count", "control_sum"),
    [(51, ManyTransfers(50).total()), (50, ManyTransfers(50).total() + Decimal("0.01"))],
)
def test_known_totals_that_the_transfers_contradict_are_refused(
    count: int, control_sum: Decimal
) -> None:
    with pytest.raises(InvalidInput) as refused:
        a_file(iter(ManyTransfers(50)), count=count, control_sum=control_sum)
    assert refused.value.code == ErrorCode.PAYMENT_INPUT_INVALID
    assert "discard the file" in refused.value.detail


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"count": 1}, "control_sum"),  # both or neither
        ({"control_sum": Decimal("1.00")}, "count"),
        ({"count": 0, "control_sum": Decimal("1.00")}, "count"),
        ({"count": True, "control_sum": Decimal("1.00")}, "count"),
        ({"count": 1, "control_sum": 1.0}, "control_sum"),
        ({"count": 1, "control_sum": Decimal("1.001")}, "control_sum"),
    ],
)
def test_bad_known_totals_are_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        a_file(iter([a_transfer()]), **overrides)
    assert refused.value.extra["field"] == field


def test_duplicates_are_refused_in_one_pass_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        a_file(iter([a_transfer(), a_transfer()]), count=2, control_sum=Decimal("2400.00"))
    assert "more than once" in refused.value.detail


def test_a_seekable_file_is_validated_from_where_it_stands() -> None:
    data, header = a_file(ManyTransfers(4))
    out = io.BytesIO(data)
    assert validate_pain001(out, "001.001.09") == header


def test_a_debtor_can_be_built_positionally() -> None:
    assert Debtor("DRFIP", DEBTOR_IBAN, None) == a_debtor(name="DRFIP", bic=None)


class _ChangingTransfers:
    """A re-iterable that yields other transfers on its second pass."""

    def __init__(self) -> None:
        self.passes = 0

    def __iter__(self) -> Iterator[Transfer]:
        self.passes += 1
        yield from ManyTransfers(2 + self.passes)


@pytest.mark.parametrize(
    ("transfers", "overrides", "field"),
    [
        ((t for t in ManyTransfers(2)), {}, "transfers"),  # one-shot: cannot be read twice
        ([], {}, "transfers"),
        ([a_transfer(), a_transfer()], {}, "transfers"),  # the same end-to-end id twice
        (["not a transfer"], {}, "transfers"),
        (_ChangingTransfers(), {}, "transfers"),
        ([a_transfer()], {"version": "001.001.10"}, "version"),
        ([a_transfer()], {"message_id": "RUN_1"}, "message_id"),
        ([a_transfer()], {"message_id": "M" * 36}, "message_id"),
        ([a_transfer()], {"created_at": datetime(2024, 5, 2, 9, 30)}, "created_at"),  # naive
        ([a_transfer()], {"execution_date": datetime(2024, 5, 3, tzinfo=None)}, "execution_date"),
        ([a_transfer()], {"execution_date": "2024-05-03"}, "execution_date"),
        ([a_transfer()], {"debtor": "DRFIP"}, "debtor"),
    ],
)
def test_bad_inputs_are_refused_with_a_code(
    transfers: Any, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        a_file(transfers, **overrides)
    assert refused.value.code == ErrorCode.PAYMENT_INPUT_INVALID
    assert refused.value.extra["field"] == field


def test_execution_date_is_a_date() -> None:
    data, _ = a_file([a_transfer()], execution_date=date(2024, 12, 31))
    assert b"<Dt>2024-12-31</Dt>" in data


def _tamper(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


def test_xsd_errors_are_refused_with_the_messages() -> None:
    data, _ = a_file(ManyTransfers(3))
    broken = _tamper(data, b"<EndToEndId>RUN-0000001</EndToEndId>", b"")
    with pytest.raises(InvalidInput) as refused:
        validate_pain001(broken, "001.001.09")
    assert refused.value.code == ErrorCode.PAYMENT_FILE_INVALID
    (error,) = refused.value.extra["errors"]
    assert "PmtId" in error["message"] and "EndToEndId" in error["message"]


def test_a_file_checked_against_the_other_version_is_refused() -> None:
    data, _ = a_file(ManyTransfers(2), "001.001.09")
    with pytest.raises(InvalidInput) as refused:
        validate_pain001(data, "001.001.03")
    assert refused.value.code == ErrorCode.PAYMENT_FILE_INVALID


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            b"<NbOfTxs>3</NbOfTxs><CtrlSum>0.06</CtrlSum><InitgPty>",
            b"<NbOfTxs>4</NbOfTxs><CtrlSum>0.06</CtrlSum><InitgPty>",
            "group header declares 4",
        ),
        (
            b"<CtrlSum>0.06</CtrlSum><InitgPty>",
            b"<CtrlSum>0.07</CtrlSum><InitgPty>",
            "group header declares a control sum of 0.07",
        ),
        (
            b"<NbOfTxs>3</NbOfTxs><CtrlSum>0.06</CtrlSum><PmtTpInf>",
            b"<NbOfTxs>2</NbOfTxs><CtrlSum>0.06</CtrlSum><PmtTpInf>",
            "payment information RUN-20240502 declares 2",
        ),
        (
            b'<InstdAmt Ccy="EUR">0.03</InstdAmt>',
            b'<InstdAmt Ccy="EUR">0.04</InstdAmt>',
            "the sum is 0.07",
        ),
    ],
)
def test_totals_that_do_not_add_up_are_refused(old: bytes, new: bytes, says: str) -> None:
    data, _ = a_file(ManyTransfers(3))
    with pytest.raises(InvalidInput) as refused:
        validate_pain001(_tamper(data, old, new), "001.001.09")
    assert refused.value.code == ErrorCode.PAYMENT_FILE_INVALID
    assert says in refused.value.detail


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda data: data[:-300], ErrorCode.XML_NOT_WELL_FORMED),  # truncated
        (lambda data: data.replace(b"</Nm>", b"</Nx>", 1), ErrorCode.XML_NOT_WELL_FORMED),
        (lambda data: data + b"<more/>", ErrorCode.XML_NOT_WELL_FORMED),
        (lambda data: b"", ErrorCode.XML_NOT_WELL_FORMED),
        (
            lambda data: data.decode().replace("UTF-8", "UTF-16").encode("utf-16"),
            ErrorCode.XML_NOT_WELL_FORMED,
        ),
        (
            lambda data: data.replace(b"?>", b'?><!DOCTYPE d [<!ENTITY e "x">]>', 1),
            ErrorCode.XML_DOCTYPE_FORBIDDEN,
        ),
        (
            lambda data: data.replace(b"?>", b'?><!DOCTYPE d SYSTEM "/etc/passwd">', 1),
            ErrorCode.XML_DOCTYPE_FORBIDDEN,
        ),
    ],
)
def test_files_that_are_not_plain_utf8_xml_are_refused(mangle: Any, code: ErrorCode) -> None:
    data, _ = a_file(ManyTransfers(3))
    with pytest.raises(InvalidInput) as refused:
        validate_pain001(mangle(data), "001.001.09")
    assert refused.value.code == code


def test_errors_of_an_earlier_file_do_not_leak_into_the_next() -> None:
    with pytest.raises(InvalidInput):
        validate_pain001(b"<Document/>", "001.001.09")  # lxml keeps this in a global log
    data, header = a_file(ManyTransfers(3))
    assert validate_pain001(data, "001.001.09") == header
    with pytest.raises(InvalidInput) as refused:
        validate_pain001(data[:-300], "001.001.09")
    assert refused.value.code == ErrorCode.XML_NOT_WELL_FORMED
    assert "global declaration" not in refused.value.detail


# The corpus pain.001 files in the pure ISO namespace of 001.001.03 (sepa_king's own example
# and moov's samples); the others are national variants with their own namespace: Swiss SIX
# (`.ch.02`, `musterfile`) and the German DK 001.002.03 / 001.003.03.
ISO_PAIN001_03 = [
    "International_payment_RUB_naujas_1.xml",
    "International_payment_USD_naujas_1.xml",
    "gistfile1.xml",
    "sepa_payment_naujas_1.xml",
    "sepaking_pain.001.001.03.xml",
]
NATIONAL_VARIANTS = [
    "musterfile_pain.001_Nov2020.xml",
    "sepaking_pain.001.001.03.ch.02.xml",
    "sepaking_pain.001.002.03.xml",
    "sepaking_pain.001.003.03.xml",
]


def test_the_corpus_lists_are_complete() -> None:
    files = sorted(path.name for path in PAIN001_CORPUS.glob("*.xml"))
    assert files == sorted(ISO_PAIN001_03 + NATIONAL_VARIANTS)
    for name in ISO_PAIN001_03:
        root = etree.parse(PAIN001_CORPUS / name).getroot()
        assert root.tag == f"{{{namespace('001.001.03')}}}Document"


@pytest.mark.parametrize("name", ISO_PAIN001_03)
def test_pure_iso_corpus_files_validate_against_the_shared_xsd(name: str) -> None:
    header = validate_pain001(PAIN001_CORPUS / name, "001.001.03")
    assert header.number_of_transactions >= 1
    assert header.control_sum > 0


def test_the_sepa_king_example_reads_back_its_header() -> None:
    header = validate_pain001(PAIN001_CORPUS / "sepaking_pain.001.001.03.xml", "001.001.03")
    assert (header.message_id, header.number_of_transactions, header.control_sum) == (
        "Message-ID-4711",
        2,
        Decimal("6655.86"),
    )


@pytest.mark.parametrize("name", NATIONAL_VARIANTS)
def test_national_variants_are_not_iso_pain001_03(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_pain001(PAIN001_CORPUS / name, "001.001.03")
    assert refused.value.code == ErrorCode.PAYMENT_FILE_INVALID
    assert "No matching global declaration" in refused.value.detail
