"""French and foreign identifiers and bank details, checked with maintained libraries.

SIRET/SIREN use python-stdnum (Luhn, with La Poste's known exception); IBAN/BIC use
schwifty (country formats and check digits, BIC registry).
"""

from __future__ import annotations

import re
from enum import StrEnum

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren, siret

from core.errors import ErrorCode, InvalidInput


class IdentifierScheme(StrEnum):
    """How a supplier is identified (Chorus Pro's identifier types)."""

    SIRET = "SIRET"  # ISO 6523 ICD 0009
    EU_VAT = "EU_VAT"  # intra-EU VAT number of a supplier established in another member state
    NON_EU = "NON_EU"  # national identifier of a supplier outside the EU
    RIDET = "RIDET"  # New Caledonia
    TAHITI = "TAHITI"  # French Polynesia


_FREE_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,34}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def check_siret(value: str) -> str:
    """Return the SIRET compacted to 14 digits, or refuse it with `SIRET_INVALID`."""
    try:
        return siret.validate(value)
    except StdnumError as exc:
        raise InvalidInput(
            ErrorCode.SIRET_INVALID, f"{value!r} is not a valid SIRET: {exc}"
        ) from None


def check_siren(value: str) -> str:
    """Return the SIREN compacted to 9 digits, or refuse it with `SIREN_INVALID`."""
    try:
        return siren.validate(value)
    except StdnumError as exc:
        raise InvalidInput(
            ErrorCode.SIREN_INVALID, f"{value!r} is not a valid SIREN: {exc}"
        ) from None


def check_identifier(scheme: IdentifierScheme, value: str) -> str:
    """Return the normalised identifier for its scheme, or refuse it."""
    if scheme is IdentifierScheme.SIRET:
        return check_siret(value)
    if scheme is IdentifierScheme.EU_VAT:
        try:
            return vat.validate(value)
        except StdnumError as exc:
            raise InvalidInput(
                ErrorCode.IDENTIFIER_INVALID, f"{value!r} is not a valid EU VAT number: {exc}"
            ) from None
    if not _FREE_IDENTIFIER.match(value.strip()):
        raise InvalidInput(
            ErrorCode.IDENTIFIER_INVALID, f"{value!r} is not a valid {scheme} identifier"
        )
    return value.strip()


def check_iban(value: str) -> str:
    """Return the IBAN in compact form, or refuse it with `IBAN_INVALID`."""
    try:
        return IBAN(value).compact
    except SchwiftyException as exc:
        raise InvalidInput(
            ErrorCode.IBAN_INVALID, f"{value!r} is not a valid IBAN: {exc}"
        ) from None


def check_bic(value: str) -> str:
    """Return the BIC in compact form, or refuse it with `BIC_INVALID`."""
    try:
        return BIC(value, allow_invalid=False).compact
    except SchwiftyException as exc:
        raise InvalidInput(ErrorCode.BIC_INVALID, f"{value!r} is not a valid BIC: {exc}") from None


def check_email(value: str) -> str:
    """Return the address if it has the shape of one, or refuse it with `EMAIL_INVALID`."""
    if not _EMAIL.match(value.strip()):
        raise InvalidInput(ErrorCode.EMAIL_INVALID, f"{value!r} is not an email address")
    return value.strip()
