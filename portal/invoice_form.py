"""An invoice from the small-supplier form: what a person typed, checked field by field, then
turned into the EN 16931 model and written as UBL for the deposit route.

Small suppliers without invoicing software fill in a buyer, a number, dates, lines and an
IBAN; everything else an accepted invoice needs (the mandatory French mentions, the VAT
breakdown, the totals) follows from those. The form only checks what it must read (dates,
numbers, the presence of fields); every rule of the invoice itself is the deposit's, whose
report is shown as for an uploaded file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import count, islice, takewhile
from typing import TypeVar

from core.errors import ChaineError, ErrorCode, InvalidInput
from directory.identifiers import check_iban, check_siret
from invoicing.formats import write_invoice
from invoicing.model import (
    SIRET_SCHEME,
    Address,
    CreditTransfer,
    Identifier,
    Invoice,
    InvoiceLine,
    InvoiceTypeCode,
    Note,
    Party,
    PaymentInstructions,
    Totals,
    VatBreakdown,
)
from invoicing.syntax import Syntax
from portal.i18n import N_
from portal.pages import decimal_text

MAX_REFERENCE = 100  # number, service code, commitment: the deposit checks the real limits
MIN_LINE_ROWS = 3  # rows offered even when fewer are filled; empty rows are ignored
MAX_LINE_ROWS = 50
EN16931 = "urn:cen.eu:en16931:2017"  # BT-24: the invoice follows EN 16931 itself
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the French SIREN (BT-30 of the seller)
CREDIT_TRANSFER = "30"  # UNTDID 4461, BT-81
UNIT = "C62"  # UN/ECE rec. 20 "one": a line counts units of what it names
CENT = Decimal("0.01")
STANDARD = "S"  # UNCL 5305 VAT categories
EXEMPT = "E"
# BT-120 of a supplier under the VAT franchise (franchise en base), the usual case of
# small suppliers: no VAT is charged and the invoice says why (CGI art. 293 B).
FRANCHISE_REASON = "TVA non applicable, art. 293 B du CGI"
# BR-FR-05: every invoice carries these three mentions (C. com. L441-9), coded by UNTDID 4451.
MANDATORY_NOTES = (
    Note("Pénalités de retard : taux de la BCE majoré de 8 points (intérêts moratoires).", "PMD"),
    Note("Indemnité forfaitaire pour frais de recouvrement : 40 €.", "PMT"),
    Note("Pas d'escompte pour paiement anticipé.", "AAB"),
)
PAYMENT_TERMS = "Paiement par virement"  # BR-CO-25: terms or a due date when an amount is due


@dataclass(frozen=True)
class VatChoice:
    """A VAT rate the form offers, with its category and, when exempt, why."""

    label: str
    category: str
    rate: Decimal
    exemption_reason: str | None = None


VAT_CHOICES: dict[str, VatChoice] = {
    "20": VatChoice(N_("20 %"), STANDARD, Decimal("20")),
    "10": VatChoice(N_("10 %"), STANDARD, Decimal("10")),
    "5.5": VatChoice(N_("5,5 %"), STANDARD, Decimal("5.5")),
    "2.1": VatChoice(N_("2,1 %"), STANDARD, Decimal("2.1")),
    "0": VatChoice(
        N_("0 % (franchise en base, art. 293 B du CGI)"), EXEMPT, Decimal("0"), FRANCHISE_REASON
    ),
}
DEFAULT_VAT = "20"

# BT-23, the frame of the French reform: what the invoice is for (BR-FR-08).
NATURES: dict[str, str] = {
    "S1": N_("Prestation de services"),
    "B1": N_("Livraison de biens"),
    "M1": N_("Biens et services"),
}
DEFAULT_NATURE = "S1"

# What the person is told next to a field (French, translated where shown).
REQUIRED = N_("Ce champ est obligatoire.")
BAD_SIRET = N_("Ce SIRET n'est pas valide (14 chiffres, clé de contrôle).")
NOT_YOURS = N_("Choisissez un de vos établissements.")
BAD_DATE = N_("Cette date n'est pas valide.")
DUE_BEFORE_ISSUE = N_("L'échéance ne peut pas précéder la date d'émission.")
BAD_IBAN = N_("Cet IBAN n'est pas valide.")
BAD_QUANTITY = N_("Une quantité positive, par exemple 2 ou 1,5.")
BAD_PRICE = N_("Un prix positif ou nul, par exemple 120 ou 99,90.")
BAD_CHOICE = N_("Choisissez une valeur de la liste.")
NO_LINE = N_("Saisissez au moins une ligne.")
TOO_LONG = N_("Ce texte est trop long.")


class InvoiceFormInvalid(ChaineError):
    """Fields of the form cannot be read; `errors` maps each field to what to fix."""

    code = ErrorCode.VALIDATION_FAILED
    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(f"refused fields: {', '.join(errors)}", errors=errors)
        self.errors = errors


@dataclass(frozen=True)
class LineRow:
    """One line as typed."""

    description: str = ""
    quantity: str = ""
    unit_price: str = ""
    vat_rate: str = DEFAULT_VAT

    @property
    def empty(self) -> bool:
        """A row left blank, which the form ignores."""
        return not (self.description or self.quantity or self.unit_price)


@dataclass(frozen=True)
class InvoiceForm:
    """The form as typed: kept as text, so a refused form is shown back unchanged."""

    seller_siret: str = ""
    buyer_siret: str = ""
    service_code: str = ""
    commitment_number: str = ""
    number: str = ""
    issue_date: str = ""
    due_date: str = ""
    nature: str = DEFAULT_NATURE
    iban: str = ""
    lines: tuple[LineRow, ...] = ()

    @classmethod
    def of(cls, values: Mapping[str, object]) -> InvoiceForm:
        """The form from posted fields (`line-N-description`... for line rows)."""

        def text(name: str, default: str = "") -> str:
            value = values.get(name)
            return value.strip() if isinstance(value, str) else default

        posted = takewhile(
            lambda n: f"line-{n}-description" in values, islice(count(), MAX_LINE_ROWS)
        )
        rows = [
            LineRow(
                text(f"line-{n}-description"),
                text(f"line-{n}-quantity"),
                text(f"line-{n}-unit_price"),
                text(f"line-{n}-vat_rate", DEFAULT_VAT),
            )
            for n in posted
        ]
        return cls(
            seller_siret=text("seller_siret"),
            buyer_siret=text("buyer_siret"),
            service_code=text("service_code"),
            commitment_number=text("commitment_number"),
            number=text("number"),
            issue_date=text("issue_date"),
            due_date=text("due_date"),
            nature=text("nature", DEFAULT_NATURE),
            iban=text("iban"),
            lines=tuple(rows),
        )

    def rows(self, extra: int = 0) -> tuple[LineRow, ...]:
        """The rows to show: those typed, `extra` blank ones, and at least `MIN_LINE_ROWS`."""
        shown = list(self.lines) + [LineRow()] * extra
        shown += [LineRow()] * (MIN_LINE_ROWS - len(shown))
        return tuple(shown[:MAX_LINE_ROWS])


@dataclass(frozen=True)
class CheckedLine:
    """A line the form could read."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    vat: VatChoice

    @property
    def net_amount(self) -> Decimal:
        """BT-131: quantity × net price, to the cent."""
        return _cents(self.quantity * self.unit_price)


@dataclass(frozen=True)
class CheckedForm:
    """Every field read: the invoice can be written once the parties' names are known."""

    seller_siret: str
    buyer_siret: str
    service_code: str | None
    commitment_number: str | None
    number: str
    issue_date: date
    due_date: date | None
    nature: str
    iban: str
    lines: tuple[CheckedLine, ...]


def check_form(form: InvoiceForm, sellers: Collection[str]) -> CheckedForm:
    """Read every field, or refuse with what to fix in each field at once.

    `sellers` are the SIRETs the person acts for: the seller is one of them.
    """
    errors: dict[str, str] = {}
    if form.seller_siret not in sellers:
        errors["seller_siret"] = NOT_YOURS
    buyer = _required(form.buyer_siret, "buyer_siret", check_siret, BAD_SIRET, errors)
    number = _required(form.number, "number", str.strip, REQUIRED, errors)
    issued = _required(form.issue_date, "issue_date", date.fromisoformat, BAD_DATE, errors)
    due = _optional_date(form.due_date, "due_date", errors)
    if issued and due and due < issued:
        errors["due_date"] = DUE_BEFORE_ISSUE
    iban = _required(form.iban, "iban", check_iban, BAD_IBAN, errors)
    if form.nature not in NATURES:
        errors["nature"] = BAD_CHOICE
    for name, value in (
        ("number", form.number),
        ("service_code", form.service_code),
        ("commitment_number", form.commitment_number),
    ):
        if len(value) > MAX_REFERENCE:
            errors[name] = TOO_LONG
    lines = _checked_lines(form.lines, errors)
    if errors or buyer is None or number is None or issued is None or iban is None:
        raise InvoiceFormInvalid(errors)
    return CheckedForm(
        seller_siret=form.seller_siret,
        buyer_siret=buyer,
        service_code=form.service_code or None,
        commitment_number=form.commitment_number or None,
        number=number,
        issue_date=issued,
        due_date=due,
        nature=form.nature,
        iban=iban,
        lines=lines,
    )


Read = TypeVar("Read")


def _required(
    value: str,
    name: str,
    reader: Callable[[str], Read],
    message: str,
    errors: dict[str, str],
) -> Read | None:
    """`reader(value)`, or None with the field's error (REQUIRED when left empty)."""
    if not value:
        errors[name] = REQUIRED
        return None
    try:
        return reader(value)
    except (InvalidInput, ValueError):
        errors[name] = message
        return None


def _optional_date(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = BAD_DATE
        return None


def _decimal(value: str) -> Decimal:
    """A number as people type it in France too: `1 234,5` is 1234.5."""
    amount = Decimal(decimal_text(value))
    if not amount.is_finite():
        raise ValueError(value)
    return amount


def _checked_lines(rows: tuple[LineRow, ...], errors: dict[str, str]) -> tuple[CheckedLine, ...]:
    """The rows that are not blank, read; errors under `line-N-field`."""
    lines = []
    for n, row in enumerate(rows):
        if row.empty:
            continue
        prefix = f"line-{n}-"
        if not row.description:
            errors[prefix + "description"] = REQUIRED
        elif len(row.description) > 1000:
            errors[prefix + "description"] = TOO_LONG
        quantity = _amount(row.quantity, prefix + "quantity", BAD_QUANTITY, errors, positive=True)
        price = _amount(row.unit_price, prefix + "unit_price", BAD_PRICE, errors, positive=False)
        vat = VAT_CHOICES.get(row.vat_rate)
        if vat is None:
            errors[prefix + "vat_rate"] = BAD_CHOICE
        if row.description and quantity is not None and price is not None and vat is not None:
            lines.append(CheckedLine(row.description, quantity, price, vat))
    if not any(not row.empty for row in rows):
        errors["lines"] = NO_LINE
    return tuple(lines)


def _amount(
    value: str, name: str, message: str, errors: dict[str, str], *, positive: bool
) -> Decimal | None:
    if not value:
        errors[name] = REQUIRED
        return None
    try:
        amount = _decimal(value)
    except (InvalidOperation, ValueError):
        errors[name] = message
        return None
    if amount < 0 or (positive and amount == 0):
        errors[name] = message
        return None
    return amount


def french_vat_number(siren: str) -> str:
    """The intra-community VAT number of a French company: FR, a key, the SIREN; the key is
    (12 + 3 × (SIREN mod 97)) mod 97 (CGI annexe IV, art. 242 nonies A)."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def to_invoice(form: CheckedForm, seller_name: str, buyer_name: str) -> Invoice:
    """The invoice the form describes, its VAT breakdown and totals drawn from its lines."""
    lines = tuple(
        InvoiceLine(
            id=str(n),
            quantity=line.quantity,
            unit_code=UNIT,
            net_amount=line.net_amount,
            net_price=line.unit_price,
            vat_category=line.vat.category,
            item_name=line.description,
            vat_rate=line.vat.rate,
        )
        for n, line in enumerate(form.lines, start=1)
    )
    breakdown = vat_breakdown(form.lines)
    net = sum((line.net_amount for line in lines), Decimal("0.00"))
    vat = sum((entry.tax_amount for entry in breakdown), Decimal("0.00"))
    return Invoice(
        number=form.number,
        issue_date=form.issue_date,
        type_code=InvoiceTypeCode.COMMERCIAL_INVOICE.value,
        currency="EUR",
        specification_id=EN16931,
        business_process=form.nature,
        seller=_seller(form.seller_siret, seller_name),
        buyer=_buyer(form.buyer_siret, buyer_name),
        totals=Totals(
            tax_exclusive_amount=net,
            tax_inclusive_amount=net + vat,
            payable_amount=net + vat,
            line_total_amount=net,
            tax_amount=vat,
        ),
        lines=lines,
        due_date=form.due_date,
        buyer_reference=form.service_code,
        purchase_order_reference=form.commitment_number,
        payment_terms=PAYMENT_TERMS,
        notes=MANDATORY_NOTES,
        payment=PaymentInstructions(
            means_code=CREDIT_TRANSFER,
            remittance_information=form.number,
            credit_transfers=(CreditTransfer(form.iban),),
        ),
        vat_breakdown=breakdown,
    )


def vat_breakdown(lines: Collection[CheckedLine]) -> tuple[VatBreakdown, ...]:
    """BG-23: one entry per category and rate, its VAT rounded once per entry (BR-S-09)."""
    bases: dict[VatChoice, Decimal] = {}
    for line in lines:
        bases[line.vat] = bases.get(line.vat, Decimal("0.00")) + line.net_amount
    return tuple(
        VatBreakdown(
            taxable_amount=base,
            tax_amount=_cents(base * choice.rate / 100),
            category=choice.category,
            rate=choice.rate,
            exemption_reason=choice.exemption_reason,
        )
        for choice, base in bases.items()
    )


def invoice_ubl(form: CheckedForm, seller_name: str, buyer_name: str) -> bytes:
    """The UBL file deposited for the form."""
    return write_invoice(to_invoice(form, seller_name, buyer_name), Syntax.UBL)


def _cents(value: Decimal) -> Decimal:
    """Rounded to the cent, half up, as EN 16931 amounts are (BR-DEC: two decimals)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _seller(siret: str, name: str) -> Party:
    """BG-4: the SIRET (BT-29, 0009), the SIREN (BT-30, 0002), the VAT number (BT-31)."""
    return Party(
        name=name,
        identifiers=(Identifier(siret, SIRET_SCHEME),),
        legal_registration=Identifier(siret[:9], SIREN_SCHEME),
        vat_id=french_vat_number(siret[:9]),
        electronic_address=Identifier(siret, SIRET_SCHEME),
        address=Address("FR"),
    )


def _buyer(siret: str, name: str) -> Party:
    """BG-7: the public structure, by its SIRET (BT-47, 0009), which routes the invoice."""
    return Party(
        name=name,
        legal_registration=Identifier(siret, SIRET_SCHEME),
        electronic_address=Identifier(siret, SIRET_SCHEME),
        address=Address("FR"),
    )
