"""`/v1/threads`: conversations between an invoice's supplier and its buyer's side.

The supplier side (clients acting for the invoice's seller) and the buyer side (buyers,
accountants and project managers acting for its buyer SIRET) write; operators read; to
anyone else a thread does not exist (404). Each message is announced, in the inbox
(`thread.message`) and by email when `CHAINE_SMTP_URL` is set, to every client of the
other side. Bodies are JSON, or multipart with files in the part `attachments`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    UnsupportedMediaType,
    require_roles,
)
from api.mailer import Mailer
from api.routes.invoices import InvoiceNotFound, visible_invoice
from api.schemas import RequestModel, ResponseModel
from api.uploads import blob_download, media_type_of, store_attachments
from core.config import Settings
from core.errors import ChaineError, ErrorCode
from core.principals import Principal, Role
from directory.identifiers import IdentifierScheme
from messaging.mail import Email, MessageNotice, message_email_text, notification_subject
from messaging.threads import (
    MAX_MESSAGE_ATTACHMENTS,
    SELLER_SIDE_ROLES,
    Parties,
    Side,
    SubjectKind,
    ThreadMessageInvalid,
    check_attachment_count,
    checked_body,
    checked_subject,
    side_of,
)
from store.blobs import BlobStore
from store.clients import ClientRepository
from store.directory import DirectoryRepository
from store.invoices import InvoiceRepository
from store.models import Invoice, Thread, ThreadMessage
from store.notifications import NotificationRepository
from store.threads import ThreadRepository, ThreadScope

router = APIRouter(prefix="/v1", tags=["threads"])

THREAD_MESSAGE = "thread.message"  # notification kind
ThreadId = Annotated[int, Path(ge=1, le=2**62, description="Thread id")]
MessageId = Annotated[int, Path(ge=1, le=2**62, description="Message id")]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The file's SHA-256")]
Writer = Annotated[Principal, Depends(require_roles(*SELLER_SIDE_ROLES))]  # not operators
Fields = TypeVar("Fields", bound=RequestModel)


class ThreadNotFound(ChaineError):
    """No thread with this id is visible to the caller."""

    code = ErrorCode.THREAD_NOT_FOUND
    status = 404


class AttachmentNotFound(ChaineError):
    """No such message in the thread, or no such file on the message."""

    code = ErrorCode.THREAD_ATTACHMENT_NOT_FOUND
    status = 404


class ThreadCreate(RequestModel):
    """A new thread on an invoice, with its first message."""

    invoice_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    subject: str = Field(description="One line, 1 to 200 characters")
    body: str = Field(description="The first message, 1 to 10,000 characters")


class MessageCreate(RequestModel):
    """A message answering in a thread."""

    body: str = Field(description="1 to 10,000 characters")


class AttachmentPublic(ResponseModel):
    """A file sent with a message, and where to download it."""

    sha256: str
    size: int
    media_type: str
    filename: str | None
    url: str


class MessagePublic(ResponseModel):
    """One message: who wrote it, for which side, when, and what."""

    id: int
    author: str
    role: str
    side: Side
    created_at: datetime
    body: str
    attachments: list[AttachmentPublic]


class ThreadSummary(ResponseModel):
    """A thread without its messages."""

    id: int
    subject_kind: SubjectKind
    subject_id: str
    invoice_id: str
    invoice_number: str
    subject: str
    created_by: str
    created_at: datetime
    last_message_at: datetime
    message_count: int


class ThreadPublic(ThreadSummary):
    """A thread and its messages, oldest first."""

    messages: list[MessagePublic]


class ThreadsPublic(ResponseModel):
    """A page of threads, newest first; pass `next` as `before` to read older ones."""

    items: list[ThreadSummary]
    next: int | None


def _request_body(model: type[RequestModel]) -> dict[str, Any]:
    """An OpenAPI request body taking the model as JSON, or its fields and files as
    multipart (files in the part `attachments`)."""
    schema = model.model_json_schema()
    files = {"type": "array", "items": {"type": "string", "format": "binary"}}
    form = {**schema, "properties": {**schema["properties"], "attachments": files}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": form},
            },
        }
    }


async def _read(request: Request, model: type[Fields]) -> tuple[Fields, FormData | None]:
    """The fields of a JSON or multipart body, and the form holding its files."""
    media_type = media_type_of(request.headers.get("content-type"))
    form: FormData | None = None
    if media_type == "application/json" or media_type.endswith("+json"):
        raw: str | bytes | dict[str, Any] = await request.body()
    elif media_type == "multipart/form-data":
        try:
            form = await request.form(
                max_files=MAX_MESSAGE_ATTACHMENTS + 1, max_fields=len(model.model_fields) + 2
            )
        except StarletteHTTPException as refused:  # too many parts, or a part too large
            raise ThreadMessageInvalid(
                f"the form is refused: {refused.detail}", "attachments"
            ) from None
        raw = {key: value for key, value in form.multi_items() if key != "attachments"}
    else:
        raise UnsupportedMediaType(
            f"send this body as application/json or multipart/form-data, not "
            f"{media_type or 'an undeclared type'}"
        )
    try:
        fields = (
            model.model_validate(raw) if isinstance(raw, dict) else model.model_validate_json(raw)
        )
    except ValidationError as invalid:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors()]
        ) from None
    if form is not None:
        check_attachment_count(len(form.getlist("attachments")))
    return fields, form


async def _attachments(
    form: FormData | None, request: Request, settings: Settings
) -> list[dict[str, Any]]:
    if form is None:
        return []
    blobs: BlobStore = request.app.state.blobs
    stored = await store_attachments(form, blobs, settings.upload_max_bytes)
    return [
        {"sha256": a.sha256, "size": a.size, "media_type": a.media_type, "filename": a.filename}
        for a in stored
    ]


def _parties(invoice: Invoice) -> Parties:
    return Parties(seller=invoice.seller_key, buyer=invoice.buyer_siret)


async def _visible_thread(
    session: AsyncSession, principal: Principal, thread_id: int
) -> tuple[Thread, Invoice, Side | None]:
    """The thread, its invoice and the caller's side (None for operators), or 404."""
    thread = await ThreadRepository(session).get(thread_id)
    invoice = (
        await InvoiceRepository(session).get(thread.subject_id)
        if thread is not None and thread.subject_kind == SubjectKind.INVOICE
        else None
    )
    if thread is None or invoice is None:
        raise ThreadNotFound(f"no thread {thread_id}")
    side = side_of(principal, _parties(invoice))
    if side is None and principal.role is not Role.OPS:
        raise ThreadNotFound(f"no thread {thread_id}")
    return thread, invoice, side


def _message_public(thread_id: int, message: ThreadMessage) -> MessagePublic:
    base = f"/v1/threads/{thread_id}/messages/{message.id}/attachments"
    return MessagePublic(
        id=message.id,
        author=message.author,
        role=message.role,
        side=Side(message.side),
        created_at=message.created_at,
        body=message.body,
        attachments=[
            AttachmentPublic(**attachment, url=f"{base}/{attachment['sha256']}")
            for attachment in message.attachments
        ],
    )


def _thread_public(thread: Thread, invoice: Invoice, messages: list[ThreadMessage]) -> ThreadPublic:
    return ThreadPublic(
        **_summary(thread, invoice.number, len(messages)).model_dump(),
        messages=[_message_public(thread.id, message) for message in messages],
    )


def _summary(thread: Thread, invoice_number: str, message_count: int) -> ThreadSummary:
    return ThreadSummary(
        id=thread.id,
        subject_kind=SubjectKind(thread.subject_kind),
        subject_id=thread.subject_id,
        invoice_id=thread.subject_id,
        invoice_number=invoice_number,
        subject=thread.subject,
        created_by=thread.created_by,
        created_at=thread.created_at,
        last_message_at=thread.last_message_at,
        message_count=message_count,
    )


async def _post(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    side: Side,
    thread: Thread,
    invoice: Invoice,
    body: str,
    attachments: list[dict[str, Any]],
) -> tuple[ThreadMessage, list[Email]]:
    """Add the message, notify every client of the other side; the emails to send."""
    message = await ThreadRepository(session).add_message(
        thread,
        author=principal.client_id,
        role=principal.role.value,
        side=side.value,
        body=body,
        attachments=attachments,
        at=datetime.now(UTC),
    )
    readers = side.other
    siret = _parties(invoice).siret_of(readers)
    if siret is None:  # an invoice without a known buyer: nobody to tell
        return message, []
    clients = [
        client
        for client in await ClientRepository(session).acting_for(siret, readers.roles)
        if client.client_id != principal.client_id
    ]
    fallback = None  # a supplier's address in the directory serves its clients without one
    if readers is Side.SELLER and any(client.email is None for client in clients):
        supplier = await DirectoryRepository(session).supplier(IdentifierScheme.SIRET, siret)
        fallback = supplier.email if supplier is not None else None
    notice = MessageNotice(
        invoice_number=invoice.number,
        thread_id=thread.id,
        thread_subject=thread.subject,
        author=principal.client_id,
        author_side=side.value,
        author_role=principal.role.value,
        body=body,
        attachments=len(attachments),
    )
    subject = notification_subject(notice)
    payload = {
        "thread_id": thread.id,
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "message_id": message.id,
        "author": principal.client_id,
        "author_role": principal.role.value,
        "author_side": side.value,
        "subject": thread.subject,
    }
    inbox = NotificationRepository(session)
    notified = [
        (client, inbox.add(client.client_id, THREAD_MESSAGE, subject, payload))
        for client in clients
    ]
    await session.flush()  # the notifications' ids, for their emails
    text = message_email_text(notice, f"{settings.effective_public_url}/v1/threads/{thread.id}")
    emails = [
        Email(notification.id, address, subject, text)
        for client, notification in notified
        if (address := client.email or fallback)
    ]
    return message, emails


def _mailer(request: Request) -> Mailer:
    return request.app.state.mailer


MailerDep = Annotated[Mailer, Depends(_mailer)]


@router.post(
    "/threads",
    status_code=201,
    response_model=ThreadPublic,
    summary="Start a thread on an invoice",
    openapi_extra=_request_body(ThreadCreate),
    responses={404: {"description": "no such invoice visible to you"}},
)
async def create_thread(
    request: Request,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
) -> JSONResponse:
    """A thread with its first message; the other side finds it in its inbox."""
    fields, form = await _read(request, ThreadCreate)
    subject, body = checked_subject(fields.subject), checked_body(fields.body)
    invoice = await visible_invoice(session, principal, fields.invoice_id)
    side = side_of(principal, _parties(invoice))
    if side is None:
        raise InvoiceNotFound(f"no invoice {fields.invoice_id}")
    attachments = await _attachments(form, request, settings)
    thread = await ThreadRepository(session).add_thread(
        SubjectKind.INVOICE, invoice.id, subject, principal.client_id, datetime.now(UTC)
    )
    message, emails = await _post(
        session, settings, principal, side, thread, invoice, body, attachments
    )
    answer = _thread_public(thread, invoice, [message])
    await session.commit()
    mailer.send_later(emails)
    return JSONResponse(
        answer.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/threads/{thread.id}"},
    )


@router.get("/threads", response_model=ThreadsPublic, summary="Threads you may read")
async def list_threads(
    principal: CurrentPrincipal,
    session: SessionDep,
    invoice_id: Annotated[str | None, Query(pattern=r"^[0-9a-f-]{36}$")] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ThreadsPublic:
    """Threads on the invoices of your SIRETs (of one, with `invoice_id`), newest first."""
    if principal.role is Role.OPS:
        scope = ThreadScope(everything=True)
    else:
        scope = ThreadScope(
            sellers=principal.sirets if principal.role in Side.SELLER.roles else frozenset(),
            buyers=principal.sirets if principal.role in Side.BUYER.roles else frozenset(),
        )
    found = await ThreadRepository(session).listing(
        scope, invoice_id=invoice_id, before=before, limit=limit
    )
    return ThreadsPublic(
        items=[_summary(row.thread, row.invoice_number, row.messages) for row in found],
        next=found[-1].thread.id if len(found) == limit else None,
    )


@router.get("/threads/{thread_id}", response_model=ThreadPublic, summary="A thread")
async def get_thread(
    thread_id: ThreadId, principal: CurrentPrincipal, session: SessionDep
) -> ThreadPublic:
    """The thread and every message, oldest first, with links to their files."""
    thread, invoice, _ = await _visible_thread(session, principal, thread_id)
    return _thread_public(thread, invoice, await ThreadRepository(session).messages(thread.id))


@router.post(
    "/threads/{thread_id}/messages",
    status_code=201,
    response_model=MessagePublic,
    summary="Answer in a thread",
    openapi_extra=_request_body(MessageCreate),
)
async def post_message(
    thread_id: ThreadId,
    request: Request,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
) -> JSONResponse:
    """A new message; every client of the other side is notified."""
    thread, invoice, side = await _visible_thread(session, principal, thread_id)
    if side is None:  # operators are kept out by `Writer`; nobody else gets here
        raise ThreadNotFound(f"no thread {thread_id}")
    fields, form = await _read(request, MessageCreate)
    body = checked_body(fields.body)
    attachments = await _attachments(form, request, settings)
    message, emails = await _post(
        session, settings, principal, side, thread, invoice, body, attachments
    )
    answer = _message_public(thread.id, message)
    await session.commit()
    mailer.send_later(emails)
    return JSONResponse(
        answer.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/threads/{thread.id}"},
    )


@router.get(
    "/threads/{thread_id}/messages/{message_id}/attachments/{sha256}",
    summary="A file sent with a message",
    response_class=StreamingResponse,
)
async def get_attachment(
    thread_id: ThreadId,
    message_id: MessageId,
    sha256: Sha256,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
) -> StreamingResponse:
    """The file as sent, integrity checked; only files of this message are served."""
    thread, _, _ = await _visible_thread(session, principal, thread_id)
    message = await ThreadRepository(session).message(thread.id, message_id)
    attachment = next(
        (a for a in (message.attachments if message else []) if a["sha256"] == sha256), None
    )
    if attachment is None:
        raise AttachmentNotFound(f"no file {sha256} on message {message_id} of this thread")
    return blob_download(
        request.app.state.blobs, sha256, attachment["filename"], attachment["media_type"]
    )
