"""Pure rules of threads and of their email copies: sides, limits, the SMTP URL."""

from __future__ import annotations

import pytest

from core.config import SettingsError, load_settings
from core.errors import ChaineError, ErrorCode
from core.principals import Principal, Role
from messaging.mail import SmtpSecurity, SmtpServer, smtp_server
from messaging.threads import Parties, Side, checked_body, checked_subject, side_of

SELLER, BUYER = "73282932000074", "11000201100044"
INVOICE = Parties(seller=SELLER, buyer=BUYER)


@pytest.mark.parametrize(
    ("role", "siret", "side"),
    [
        (Role.SUPPLIER, SELLER, Side.SELLER),
        (Role.BUYER, BUYER, Side.BUYER),
        (Role.ACCOUNTANT, BUYER, Side.BUYER),
        (Role.MOE, BUYER, Side.BUYER),
        (Role.SUPPLIER, BUYER, None),  # a supplier never writes for a buyer
        (Role.BUYER, "21750001600019", None),
        (Role.OPS, SELLER, None),  # operators read, never write
    ],
)
def test_the_side_a_principal_writes_for(role: Role, siret: str, side: Side | None) -> None:
    assert side_of(Principal("cl_x", role, frozenset({siret})), INVOICE) is side


def test_an_invoice_without_a_known_buyer_has_only_a_seller_side() -> None:
    buyer = Principal("cl_x", Role.BUYER, frozenset({BUYER}))
    assert side_of(buyer, Parties(seller=SELLER, buyer=None)) is None
    assert Side.SELLER.other is Side.BUYER


@pytest.mark.parametrize("body", ["", "   \n", "x" * 10_001, "bell \x07"])
def test_bodies_a_thread_refuses(body: str) -> None:
    with pytest.raises(ChaineError) as refused:
        checked_body(body)
    assert refused.value.code is ErrorCode.THREAD_MESSAGE_INVALID
    assert refused.value.extra == {"field": "body"}


def test_a_body_keeps_its_lines_and_a_subject_is_one_line() -> None:
    assert checked_body("  Hello,\n\tsee the PO.  ") == "Hello,\n\tsee the PO."
    assert checked_subject(" PO 12 ") == "PO 12"
    for subject in ("", "a\r\nBcc: x@example.fr", "x" * 201):
        with pytest.raises(ChaineError):
            checked_subject(subject)


def test_smtp_urls_name_the_server_security_and_credentials() -> None:
    assert smtp_server("smtp://127.0.0.1:2525") == SmtpServer("127.0.0.1", 2525, SmtpSecurity.PLAIN)
    tls = smtp_server("smtps://mailer%40chaine.fr:p%3Ass@smtp.example.fr")
    assert (tls.port, tls.security, tls.username, tls.password) == (
        465,
        SmtpSecurity.TLS,
        "mailer@chaine.fr",
        "p:ss",
    )
    assert "p:ss" not in repr(tls)
    assert smtp_server("smtp+starttls://smtp.example.fr").port == 587
    for bad in ("http://smtp.example.fr", "smtp://", "smtp://host:99999"):
        with pytest.raises(SettingsError):
            smtp_server(bad)


def test_a_bad_smtp_url_is_refused_without_echoing_its_password() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(smtp_url="imap://user:hunter2@mail.example.fr")
    assert "CHAINE_SMTP_URL" in refused.value.detail
    assert "hunter2" not in refused.value.detail
