"""Who writes in a thread, for which side, and what a message may hold.

A thread is about a subject (an invoice now, a consultation later) that has two sides:
the seller's (the supplier) and the buyer's (the structure's buyers, accountants and
project managers). Each message is announced to the other side.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from core.errors import ErrorCode, InvalidInput
from core.principals import Principal, Role

MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 10_000
MAX_MESSAGE_ATTACHMENTS = 10
BUYER_SIDE_ROLES = frozenset({Role.BUYER, Role.ACCOUNTANT, Role.MOE})
SELLER_SIDE_ROLES = frozenset(Role) - {Role.OPS}  # operators read, never write


class SubjectKind(StrEnum):
    """What a thread is about."""

    INVOICE = "invoice"


class Side(StrEnum):
    """The side of the subject a message is written for."""

    SELLER = "seller"
    BUYER = "buyer"

    @property
    def other(self) -> Side:
        """The side a message of this side is announced to."""
        return Side.BUYER if self is Side.SELLER else Side.SELLER

    @property
    def roles(self) -> frozenset[Role]:
        """The roles that act for this side."""
        return SELLER_SIDE_ROLES if self is Side.SELLER else BUYER_SIDE_ROLES


@dataclass(frozen=True)
class Parties:
    """The two sides of a subject: the seller's key and the buyer's SIRET (if known)."""

    seller: str
    buyer: str | None

    def siret_of(self, side: Side) -> str | None:
        """The SIRET (or seller key) that stands for `side`."""
        return self.seller if side is Side.SELLER else self.buyer


def side_of(principal: Principal, parties: Parties) -> Side | None:
    """The side the principal writes for; None for operators and for outsiders."""
    if principal.role is Role.OPS:
        return None
    for side in Side:
        siret = parties.siret_of(side)
        if principal.role in side.roles and siret is not None and siret in principal.sirets:
            return side
    return None


class ThreadMessageInvalid(InvalidInput):
    """A subject, body or set of attachments a thread does not take."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(ErrorCode.THREAD_MESSAGE_INVALID, detail, field=field)


def _has_control_characters(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def checked_subject(subject: str) -> str:
    """A subject line: 1 to 200 characters, on one line (it becomes an email subject)."""
    subject = subject.strip()
    if not subject or len(subject) > MAX_SUBJECT_CHARS:
        raise ThreadMessageInvalid(
            f"the subject takes 1 to {MAX_SUBJECT_CHARS} characters", "subject"
        )
    if _has_control_characters(subject):
        raise ThreadMessageInvalid("the subject is one line, without control characters", "subject")
    return subject


def checked_body(body: str) -> str:
    """A message's text: 1 to 10,000 characters; line breaks and tabs are kept."""
    body = body.strip()
    if not body:
        raise ThreadMessageInvalid("the message is empty", "body")
    if len(body) > MAX_BODY_CHARS:
        raise ThreadMessageInvalid(
            f"the message has {len(body)} characters; {MAX_BODY_CHARS:,} at most", "body"
        )
    if _has_control_characters(body, allowed="\n\r\t"):
        raise ThreadMessageInvalid("the message holds control characters", "body")
    return body


def check_attachment_count(count: int) -> None:
    """At most ten files per message."""
    if count > MAX_MESSAGE_ATTACHMENTS:
        raise ThreadMessageInvalid(
            f"{count} attachments; {MAX_MESSAGE_ATTACHMENTS} at most per message", "attachments"
        )
