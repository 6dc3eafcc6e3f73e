"""Email copies of notifications, sent in the background of the API process.

A request that creates notifications commits them first, then hands their emails to the
mailer and answers: sending never delays nor fails it. Each email goes through the
stdlib `smtplib` in a thread, bounded by `CHAINE_SMTP_TIMEOUT`; a failure is logged and
leaves the notification in the inbox with `emailed_at` unset.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from messaging.mail import SUBJECT_PREFIX, Email, SmtpSecurity, SmtpServer, smtp_server
from store.database import transaction
from store.notifications import NotificationRepository

log = logging.getLogger(__name__)


def email_message(email: Email, sender: str) -> EmailMessage:
    """The RFC 5322 message of an email copy."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = SUBJECT_PREFIX + email.subject
    message["Date"] = formatdate(localtime=False)
    # The sender's domain, so that making the id never waits on a DNS lookup of our name.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "chaine.invalid"
    message["Message-ID"] = make_msgid(f"notification-{email.notification_id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(email.text)
    return message


def send_email(server: SmtpServer, email: Email, sender: str, timeout: float) -> None:
    """Hand one email to the SMTP server (blocking); raise if it is not accepted."""
    message = email_message(email, sender)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.security is SmtpSecurity.TLS:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with smtp:
        if server.security is SmtpSecurity.STARTTLS:
            smtp.starttls(context=context)
        if server.username is not None:
            smtp.login(server.username, server.password or "")
        smtp.send_message(message)


class Mailer:
    """Sends email copies of notifications when `CHAINE_SMTP_URL` is set; else nothing."""

    def __init__(
        self,
        server: SmtpServer | None,
        sender: str,
        timeout: float,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.server = server
        self.sender = sender
        self.timeout = timeout
        self.sessions = sessions
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: async_sessionmaker[AsyncSession]
    ) -> Mailer:
        """The mailer of these settings (refuses an unusable `CHAINE_SMTP_URL` at start)."""
        url = settings.smtp_url
        server = smtp_server(url.get_secret_value()) if url is not None else None
        return cls(server, settings.smtp_from, settings.smtp_timeout.total_seconds(), sessions)

    def send_later(self, emails: Sequence[Email]) -> None:
        """Send these emails in the background; the caller does not wait."""
        if self.server is None or not emails:
            return
        task = asyncio.create_task(self._send_all(self.server, list(emails)))
        self._tasks.add(task)  # a reference, so the task is not collected mid-way
        task.add_done_callback(self._tasks.discard)

    async def _send_all(self, server: SmtpServer, emails: list[Email]) -> None:
        for email in emails:
            try:
                async with asyncio.timeout(self.timeout):
                    await asyncio.to_thread(send_email, server, email, self.sender, self.timeout)
            except (OSError, smtplib.SMTPException, TimeoutError, ValueError) as exc:
                # OSError covers refused connections and TLS failures; ValueError a header
                # the email package refuses.
                log.warning(
                    "notification %s not emailed to %s: %s",
                    email.notification_id,
                    email.to,
                    f"{type(exc).__name__}: {exc}",
                )
                continue
            try:
                async with transaction(self.sessions) as session:
                    await NotificationRepository(session).mark_emailed(
                        email.notification_id, datetime.now(UTC)
                    )
            except SQLAlchemyError as exc:  # sent; only the record of it is missing
                log.warning(
                    "notification %s emailed, but not recorded as such: %s",
                    email.notification_id,
                    exc,
                )

    async def close(self, grace: float) -> None:
        """Let emails under way finish for `grace` seconds, then give them up (logged)."""
        pending = set(self._tasks)
        if not pending:
            return
        _, unfinished = await asyncio.wait(pending, timeout=grace)
        for task in unfinished:
            task.cancel()
        if unfinished:
            log.warning("%d email batch(es) given up at shutdown", len(unfinished))
