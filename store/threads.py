"""Repository of message threads and their messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from messaging.threads import SubjectKind
from store.models import Invoice, Thread, ThreadMessage


@dataclass(frozen=True)
class ThreadScope:
    """The invoices whose threads a caller may list: those of `sellers`, or of `buyers`;
    `everything` for operators."""

    sellers: frozenset[str] = frozenset()
    buyers: frozenset[str] = frozenset()
    everything: bool = False


@dataclass(frozen=True)
class ListedThread:
    """A thread in a listing, with its invoice's number and how many messages it holds."""

    thread: Thread
    invoice_number: str
    messages: int


class ThreadRepository:
    """Every query on `threads` and `thread_messages`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_thread(
        self, kind: SubjectKind, subject_id: str, subject: str, created_by: str, at: datetime
    ) -> Thread:
        """A new thread about `subject_id`, without messages yet."""
        thread = Thread(
            subject_kind=kind.value,
            subject_id=subject_id,
            subject=subject,
            created_by=created_by,
            created_at=at,
            last_message_at=at,
        )
        self.session.add(thread)
        await self.session.flush()
        return thread

    async def add_message(
        self,
        thread: Thread,
        *,
        author: str,
        role: str,
        side: str,
        body: str,
        attachments: list[dict[str, Any]],
        at: datetime,
    ) -> ThreadMessage:
        """A new message at the end of `thread`."""
        message = ThreadMessage(
            thread_id=thread.id,
            author=author,
            role=role,
            side=side,
            body=body,
            attachments=attachments,
            created_at=at,
        )
        self.session.add(message)
        thread.last_message_at = max(thread.last_message_at, at)
        await self.session.flush()
        return message

    async def get(self, thread_id: int) -> Thread | None:
        """The thread with this id."""
        return await self.session.get(Thread, thread_id)

    async def messages(self, thread_id: int) -> list[ThreadMessage]:
        """A thread's messages, oldest first."""
        return list(
            await self.session.scalars(
                select(ThreadMessage)
                .where(ThreadMessage.thread_id == thread_id)
                .order_by(ThreadMessage.id)
            )
        )

    async def message(self, thread_id: int, message_id: int) -> ThreadMessage | None:
        """One message of a thread."""
        return await self.session.scalar(
            select(ThreadMessage).where(
                ThreadMessage.id == message_id, ThreadMessage.thread_id == thread_id
            )
        )

    async def listing(
        self, scope: ThreadScope, *, invoice_id: str | None, before: int | None, limit: int
    ) -> list[ListedThread]:
        """Threads on the invoices of the scope, newest first, older than `before` if given."""
        count = (
            select(func.count())
            .where(ThreadMessage.thread_id == Thread.id)
            .correlate(Thread)
            .scalar_subquery()
        )
        query = (
            select(Thread, Invoice.number, count)
            .join(
                Invoice,
                and_(
                    Thread.subject_kind == SubjectKind.INVOICE.value,
                    Invoice.id == Thread.subject_id,
                ),
            )
            .where(_in_scope(scope))
        )
        if invoice_id is not None:
            query = query.where(Thread.subject_id == invoice_id)
        if before is not None:
            query = query.where(Thread.id < before)
        rows = await self.session.execute(query.order_by(Thread.id.desc()).limit(limit))
        return [ListedThread(thread, number, messages) for thread, number, messages in rows]


def _in_scope(scope: ThreadScope) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    conditions = []
    if scope.sellers:
        conditions.append(Invoice.seller_key.in_(sorted(scope.sellers)))
    if scope.buyers:
        conditions.append(Invoice.buyer_siret.in_(sorted(scope.buyers)))
    return or_(*conditions) if conditions else false()
