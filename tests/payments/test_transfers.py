"""Transfers and debtors refuse, with a code and the field, what a bank would reject."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.errors import ErrorCode, InvalidInput
from tests.payments.builders import CREDITOR_IBAN, a_debtor, a_transfer


def test_a_transfer_keeps_normalised_values() -> None:
    transfer = a_transfer(
        amount=Decimal("12.5"),
        creditor_iban="fr76 3000 6000 0112 3456 7890 189",
        creditor_bic="bnpafrppxxx",
        creditor_name="  Menuiserie Dupont  ",
    )
    assert transfer.amount == Decimal("12.50") and str(transfer.amount) == "12.50"
    assert transfer.creditor_iban == CREDITOR_IBAN
    assert transfer.creditor_bic == "BNPAFRPPXXX"
    assert transfer.creditor_name == "Menuiserie Dupont"
    assert transfer.currency == "EUR"


def test_accented_names_and_remittance_are_kept() -> None:
    transfer = a_transfer(
        creditor_name="Société Générale d'Électricité", remittance="Facture n° 12"
    )
    assert transfer.creditor_name == "Société Générale d'Électricité"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("end_to_end_id", ""),
        ("end_to_end_id", "X" * 36),
        ("end_to_end_id", "FACTURE-É12"),  # outside the SEPA character set
        ("end_to_end_id", "RUN_1"),
        ("end_to_end_id", "/RUN-1"),
        ("end_to_end_id", "RUN-1/"),
        ("end_to_end_id", "RUN//1"),
        ("end_to_end_id", " RUN-1"),
        ("end_to_end_id", "NOTPROVIDED"),
        ("end_to_end_id", 12),
        ("amount", 12.5),  # a float
        ("amount", 12),
        ("amount", Decimal("0")),
        ("amount", Decimal("-1.00")),
        ("amount", Decimal("10.001")),
        ("amount", Decimal("1000000000.00")),
        ("amount", Decimal("NaN")),
        ("amount", Decimal("Infinity")),
        ("currency", "USD"),
        ("creditor_name", ""),
        ("creditor_name", "   "),
        ("creditor_name", "N" * 71),
        ("creditor_name", "Dupont\nFils"),
        ("creditor_name", "Dupont\x00"),
        ("remittance", "R" * 141),
        ("remittance", ""),
        ("invoice_reference", ""),
        ("invoice_reference", None),
    ],
)
def test_bad_transfer_values_are_refused_with_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        a_transfer(**{field: value})
    assert refused.value.code == ErrorCode.PAYMENT_INPUT_INVALID
    assert refused.value.extra["field"] == field


def test_the_longest_values_a_bank_takes_are_accepted() -> None:
    transfer = a_transfer(
        end_to_end_id="A" * 35,
        amount=Decimal("999999999.99"),
        creditor_name="N" * 70,
        remittance="R" * 140,
    )
    assert len(transfer.end_to_end_id) == 35


def test_a_bad_creditor_iban_is_refused_as_an_iban() -> None:
    with pytest.raises(InvalidInput) as refused:
        a_transfer(creditor_iban="FR7630006000011234567890188")  # wrong check digits
    assert refused.value.code == ErrorCode.IBAN_INVALID
    assert refused.value.extra["field"] == "creditor_iban"


def test_a_bad_creditor_bic_is_refused_as_a_bic() -> None:
    with pytest.raises(InvalidInput) as refused:
        a_transfer(creditor_bic="BNPA")
    assert refused.value.code == ErrorCode.BIC_INVALID
    assert refused.value.extra["field"] == "creditor_bic"


def test_the_creditor_bic_is_optional() -> None:
    assert a_transfer(creditor_bic=None).creditor_bic is None


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"name": ""}, ErrorCode.PAYMENT_INPUT_INVALID, "debtor_name"),
        ({"name": "D" * 71}, ErrorCode.PAYMENT_INPUT_INVALID, "debtor_name"),
        ({"iban": "FR76"}, ErrorCode.IBAN_INVALID, "debtor_iban"),
        ({"bic": "XXXX"}, ErrorCode.BIC_INVALID, "debtor_bic"),
    ],
)
def test_bad_debtor_values_are_refused(
    overrides: dict[str, Any], code: ErrorCode, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        a_debtor(**overrides)
    assert refused.value.code == code
    assert refused.value.extra["field"] == field


def test_a_debtor_without_bic_is_accepted() -> None:
    assert a_debtor(bic=None).bic is None
