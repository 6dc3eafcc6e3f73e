"""The values a SEPA credit transfer file is made of, checked when they are built.

Every refusal is an `InvalidInput` naming the field (`extra["field"]`): `IBAN_INVALID` and
`BIC_INVALID` for bank details (checked by `directory.identifiers`), `PAYMENT_INPUT_INVALID`
for everything else. A value that exists is therefore one a bank will take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.errors import ErrorCode, InvalidInput
from directory.identifiers import check_bic, check_iban

SEPA_CURRENCY = "EUR"
# EPC SCT rulebook: an instructed amount is at least 0.01 and at most 999,999,999.99 euros.
MAX_AMOUNT = Decimal("999999999.99")
_CENT = Decimal("0.01")

# EPC implementation guidelines, "Restricted Identification SEPA1": the Latin characters
# every bank of the scheme must carry, for identifiers the bank sends back unchanged.
_SEPA_IDENTIFIER = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]{1,35}")
# Free text: XML 1.0 characters without C0/C1 controls (names and remittance are one line).
_FREE_TEXT = re.compile("[\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
# The EPC's placeholder for "no reference": a bank return carrying it cannot be matched.
NOT_PROVIDED = "NOTPROVIDED"


def _refuse(field: str, detail: str) -> InvalidInput:
    return InvalidInput(ErrorCode.PAYMENT_INPUT_INVALID, detail, field=field)


def check_sepa_identifier(value: object, field: str) -> str:
    """Return an identifier a SEPA bank carries unchanged (1-35 characters), or refuse it.

    EPC rule for references: no leading or trailing `/`, no `//`; `NOTPROVIDED` is refused
    because a bank return quoting it could not be matched to its transfer.
    """
    if not isinstance(value, str) or not _SEPA_IDENTIFIER.fullmatch(value):
        raise _refuse(
            field,
            f"{field} {value!r} must be 1 to 35 characters of the SEPA set "
            "(A-Z a-z 0-9 / - ? : ( ) . , ' + space)",
        )
    if value != value.strip() or value.startswith("/") or value.endswith("/") or "//" in value:
        raise _refuse(
            field, f"{field} {value!r} must not start or end with a space or '/', nor hold '//'"
        )
    if value == NOT_PROVIDED:
        raise _refuse(field, f"{field} may not be {NOT_PROVIDED!r}: returns could not be matched")
    return value


def _free_text(value: object, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise _refuse(field, f"{field} must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise _refuse(field, f"{field} is empty")
    if len(text) > max_length:
        raise _refuse(field, f"{field} is {len(text)} characters long, over {max_length}")
    if not _FREE_TEXT.fullmatch(text):
        raise _refuse(field, f"{field} holds control or non-XML characters")
    return text


def _amount(value: object, field: str) -> Decimal:
    if not isinstance(value, Decimal):  # never a float: 0.1 + 0.2 is not 0.3
        raise _refuse(field, f"{field} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT:
        raise _refuse(field, f"{field} {value} must be between 0.01 and {MAX_AMOUNT}")
    cents = value.quantize(_CENT)
    if cents != value:
        raise _refuse(field, f"{field} {value} has more than 2 decimals")
    return cents


def _iban(value: object, field: str) -> str:
    try:
        return check_iban(value)  # type: ignore[arg-type]  # schwifty refuses non-strings too
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.detail, field=field) from None


def _bic(value: object, field: str) -> str | None:
    if value is None:
        return None
    try:
        return check_bic(value)  # type: ignore[arg-type]
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.detail, field=field) from None


@dataclass(frozen=True, kw_only=True)
class Transfer:
    """One credit transfer to a supplier: what the bank moves and what the supplier reads.

    `end_to_end_id` travels to the creditor and comes back in every bank return: it is the
    key returns are matched on. `invoice_reference` stays in Chaîne (the invoice this pays);
    the supplier sees `remittance` (unstructured, up to 140 characters).
    """

    end_to_end_id: str
    amount: Decimal
    creditor_name: str
    creditor_iban: str
    remittance: str
    invoice_reference: str
    creditor_bic: str | None = None
    currency: str = SEPA_CURRENCY

    def __post_init__(self) -> None:
        check_sepa_identifier(self.end_to_end_id, "end_to_end_id")
        if self.currency != SEPA_CURRENCY:
            raise _refuse("currency", f"a SEPA credit transfer is in EUR, not {self.currency!r}")
        normalised = {
            "amount": _amount(self.amount, "amount"),
            "creditor_name": _free_text(self.creditor_name, "creditor_name", 70),
            "creditor_iban": _iban(self.creditor_iban, "creditor_iban"),
            "creditor_bic": _bic(self.creditor_bic, "creditor_bic"),
            "remittance": _free_text(self.remittance, "remittance", 140),
            "invoice_reference": _free_text(self.invoice_reference, "invoice_reference", 200),
        }
        for name, value in normalised.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Debtor:
    """The paying account: the public accountant's account at its bank (often the Banque de
    France), named as the bank knows it."""

    name: str
    iban: str
    bic: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _free_text(self.name, "debtor_name", 70))
        object.__setattr__(self, "iban", _iban(self.iban, "debtor_iban"))
        object.__setattr__(self, "bic", _bic(self.bic, "debtor_bic"))


@dataclass(frozen=True)
class PaymentFile:
    """What a pain.001 file declares in its group header: written, or read back."""

    message_id: str
    created_at: datetime
    number_of_transactions: int
    control_sum: Decimal
