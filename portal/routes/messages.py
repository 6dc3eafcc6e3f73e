"""Messages and notifications, for every signed-in role: threads on invoices between the
supplier and the buyer's side, with files, and the inbox of what Chaîne tells each person.

Who may read or write a thread is the API's rule (`/v1/threads`): operators read without
writing, and a thread a visitor may not see does not exist for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from core.principals import Role
from portal.accounts import Visitor
from portal.backend import ApiProblem, Backend
from portal.deps import ApiAs, Changing, CurrentVisitor, flash, redirect
from portal.i18n import N_, translator
from portal.pages import render

router = APIRouter(include_in_schema=False)

ThreadId = Annotated[int, Path(ge=1, le=2**62)]
MessageId = Annotated[int, Path(ge=1, le=2**62)]
NotificationId = Annotated[int, Path(ge=1, le=2**62)]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PAGE_SIZE = 50
MAX_FILES = 10  # the API's limit per message
SIDE_LABELS = {
    "seller": N_("Message du fournisseur"),
    "buyer": N_("Message de l'acheteur"),
}
# The invoices a role may start a thread on: its own as supplier, those it received.
INVOICE_LISTINGS = {
    Role.SUPPLIER: "/v1/invoices",
    Role.BUYER: "/v1/received-invoices",
    Role.ACCOUNTANT: "/v1/received-invoices",
    Role.MOE: "/v1/received-invoices",
}
# Where each role reads an invoice in the portal.
INVOICE_PAGES = {
    Role.SUPPLIER: "/supplier/invoices",
    Role.BUYER: "/buyer/invoices",
    Role.MOE: "/buyer/invoices",
    Role.ACCOUNTANT: "/accountant/invoices",
}


def _text(request: Request) -> Callable[[str], str]:
    """`_` in the visitor's language, for flash messages written from Python."""
    return translator(getattr(request.state, "language", "fr"))


def _writes(visitor: Visitor) -> bool:
    """Whether the visitor's role writes in threads (operators only read them)."""
    return visitor.principal.role in INVOICE_LISTINGS


def invoice_link(visitor: Visitor, invoice_id: str) -> str | None:
    """The page of an invoice for the visitor's role, where the portal has one."""
    base = INVOICE_PAGES.get(visitor.principal.role)
    return f"{base}/{invoice_id}" if base else None


async def _files(form: FormData) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The chosen files of the `attachments` field, as httpx sends them."""
    files = []
    for part in form.getlist("attachments")[: MAX_FILES + 1]:
        if isinstance(part, UploadFile) and part.filename:
            media_type = part.content_type or "application/octet-stream"
            files.append(("attachments", (part.filename, await part.read(), media_type)))
    return files


async def _send(
    api: Backend, path: str, fields: dict[str, str], files: list[Any]
) -> dict[str, Any]:
    """Post a message: JSON, or multipart when it carries files (the API reads both)."""
    if files:
        answer: dict[str, Any] = await api.post(path, data=fields, files=files)
    else:
        answer = await api.post(path, json=fields)
    return answer


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- Threads ----------------------------------------------------------------------------


@router.get("/messages")
async def threads(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Threads on the invoices you may see, newest first."""
    page = await api.get("/v1/threads", before=before, limit=PAGE_SIZE)
    return render(
        request,
        "messages/threads.html",
        visitor,
        threads=page["items"],
        next_before=page["next"],
        first_page=before is None,
        writes=_writes(visitor),
    )


async def _invoice_choices(api: Backend, visitor: Visitor) -> list[dict[str, Any]]:
    """The latest invoices the visitor may write about."""
    listing = INVOICE_LISTINGS.get(visitor.principal.role)
    if listing is None:
        return []
    page = await api.get(listing, limit=PAGE_SIZE)
    items: list[dict[str, Any]] = page["items"]
    return items


async def _new_thread_page(
    request: Request,
    visitor: Visitor,
    api: Backend,
    invoice_id: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return render(
        request,
        "messages/new.html",
        visitor,
        status_code=status_code,
        invoice_id=invoice_id,
        invoices=await _invoice_choices(api, visitor),
        writes=_writes(visitor),
        **context,
    )


@router.get("/messages/new")
async def new_thread(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    invoice_id: Annotated[str, Query(pattern=r"^[0-9a-f-]{36}$")] | None = None,
) -> Response:
    """Start a thread on an invoice (chosen here, or the one you came from)."""
    return await _new_thread_page(request, visitor, api, invoice_id or "")


@router.post("/messages/new")
async def start_thread(request: Request, visitor: Changing, api: ApiAs) -> Response:
    """The thread and its first message, with files; the other side is notified."""
    form = await request.form()
    fields = {
        "invoice_id": _field(form, "invoice_id"),
        "subject": _field(form, "subject"),
        "body": _field(form, "body"),
    }
    try:
        created = await _send(api, "/v1/threads", fields, await _files(form))
    except ApiProblem as refused:
        return await _new_thread_page(
            request,
            visitor,
            api,
            fields["invoice_id"],
            refused.status,
            problem=refused,
            subject=fields["subject"],
            body=fields["body"],
        )
    _ = _text(request)
    await flash(request, visitor, "success", _("Message envoyé."))
    return redirect(request, f"/messages/{created['id']}")


async def _thread_page(
    request: Request,
    visitor: Visitor,
    api: Backend,
    thread_id: int,
    status_code: int = 200,
    **context: Any,
) -> Response:
    thread = await api.get(f"/v1/threads/{thread_id}")
    return render(
        request,
        "messages/thread.html",
        visitor,
        status_code=status_code,
        thread=thread,
        invoice_page=invoice_link(visitor, thread["invoice_id"]),
        writes=_writes(visitor),
        me=visitor.principal.client_id,
        **context,
    )


@router.get("/messages/{thread_id}")
async def thread(
    request: Request, thread_id: ThreadId, visitor: CurrentVisitor, api: ApiAs
) -> Response:
    """A thread, its messages oldest first, their files, and the reply form."""
    return await _thread_page(request, visitor, api, thread_id)


@router.post("/messages/{thread_id}")
async def reply(request: Request, thread_id: ThreadId, visitor: Changing, api: ApiAs) -> Response:
    """Answer in the thread, with files."""
    form = await request.form()
    body = _field(form, "body")
    try:
        await _send(api, f"/v1/threads/{thread_id}/messages", {"body": body}, await _files(form))
    except ApiProblem as refused:
        if refused.status == 404:
            raise
        return await _thread_page(
            request, visitor, api, thread_id, refused.status, problem=refused, body=body
        )
    _ = _text(request)
    await flash(request, visitor, "success", _("Réponse envoyée."))
    return redirect(request, f"/messages/{thread_id}#last")


@router.get("/messages/{thread_id}/messages/{message_id}/attachments/{sha256}")
async def attachment(
    thread_id: ThreadId, message_id: MessageId, sha256: Sha256, api: ApiAs
) -> Response:
    """A file sent with a message, downloaded as sent (never shown in the page)."""
    return await api.download(f"/v1/threads/{thread_id}/messages/{message_id}/attachments/{sha256}")


# --- Notifications ----------------------------------------------------------------------


def notification_link(visitor: Visitor, notification: dict[str, Any]) -> str | None:
    """Where a notification leads: its thread, or the webhook it is about."""
    payload = notification.get("payload") or {}
    if notification["kind"] == "thread.message" and payload.get("thread_id"):
        return f"/messages/{payload['thread_id']}"
    supplier = visitor.principal.role is Role.SUPPLIER
    if notification["kind"] == "webhook.disabled" and supplier:
        return f"/supplier/webhooks/{payload.get('webhook_id', '')}"
    if notification["kind"].startswith("invoice.") and supplier and payload.get("invoice_id"):
        return f"/supplier/invoices/{payload['invoice_id']}"
    return None


@router.get("/notifications")
async def notifications(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    unread: bool = False,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Your inbox, newest first; `unread=true` for the ones not yet read."""
    page = await api.get(
        "/v1/notifications", unread="true" if unread else None, before=before, limit=PAGE_SIZE
    )
    return render(
        request,
        "messages/notifications.html",
        visitor,
        notifications=page["items"],
        next_before=page["next"],
        unread=unread,
        first_page=before is None,
        link_of=lambda n: notification_link(visitor, n),
        side_labels=SIDE_LABELS,
    )


@router.post("/notifications/{notification_id}/read")
async def mark_read(
    request: Request, notification_id: NotificationId, visitor: Changing, api: ApiAs
) -> Response:
    """Mark one read: htmx gets the updated line, a plain form goes back to the inbox."""
    notification = await api.post(f"/v1/notifications/{notification_id}/read")
    if request.headers.get("HX-Request"):
        return render(
            request,
            "messages/_notification.html",
            visitor,
            notification=notification,
            link_of=lambda n: notification_link(visitor, n),
            side_labels=SIDE_LABELS,
        )
    return redirect(request, "/notifications")
