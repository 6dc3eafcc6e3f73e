"""Email copies of notifications: where to send them from (an SMTP URL) and their words.

Pure: the API's mailer does the sending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from core.config import SettingsError

SUBJECT_PREFIX = "[Chaîne] "


class SmtpSecurity(StrEnum):
    """How the connection to the SMTP server is protected."""

    PLAIN = "smtp"  # no TLS: a relay on the host or the private network
    TLS = "smtps"  # implicit TLS (RFC 8314), port 465 by default
    STARTTLS = "smtp+starttls"  # upgraded with STARTTLS, port 587 by default


DEFAULT_PORTS = {SmtpSecurity.PLAIN: 25, SmtpSecurity.TLS: 465, SmtpSecurity.STARTTLS: 587}


@dataclass(frozen=True)
class SmtpServer:
    """An SMTP server and the credentials to log in with, if any (never shown)."""

    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def smtp_server(url: str) -> SmtpServer:
    """The server of `CHAINE_SMTP_URL`; refuses (without echoing it) a URL it cannot use."""
    try:
        parts = urlsplit(url)
        security = SmtpSecurity(parts.scheme)
        port = parts.port or DEFAULT_PORTS[security]
    except ValueError:
        raise SettingsError(
            "CHAINE_SMTP_URL: not a smtp://, smtps:// or smtp+starttls:// URL"
        ) from None
    if not parts.hostname:
        raise SettingsError("CHAINE_SMTP_URL: names no host")
    return SmtpServer(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@dataclass(frozen=True)
class Email:
    """One email copy of a notification, to one address."""

    notification_id: int
    to: str
    subject: str
    text: str


@dataclass(frozen=True)
class MessageNotice:
    """What a thread message's notification says: the invoice, the thread, the author."""

    invoice_number: str
    thread_id: int
    thread_subject: str
    author: str
    author_side: str
    author_role: str
    body: str
    attachments: int


def notification_subject(notice: MessageNotice) -> str:
    """The notification's one-line subject (also the email's, prefixed)."""
    return (
        f"Invoice {notice.invoice_number}: message from the {notice.author_side} "
        f"- {notice.thread_subject}"
    )


def message_email_text(notice: MessageNotice, thread_url: str) -> str:
    """The plain-text email: who wrote on which invoice, the message itself, and the link."""
    files = (
        f"\n\n{notice.attachments} file(s) attached, in the thread." if notice.attachments else ""
    )
    return (
        f"{notice.author} ({notice.author_role}, {notice.author_side} side) wrote on "
        f'invoice {notice.invoice_number}, in the thread "{notice.thread_subject}":\n\n'
        f"{notice.body}{files}\n\n"
        f"Read and answer: {thread_url}\n"
    )
