"""Threads between an invoice's supplier and its buyer's side: who reads, who writes, what
each message announces, what is refused; on SQLite and PostgreSQL, over loopback HTTP."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from store.models import Thread, ThreadMessage
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.threads.conftest import OTHER_SELLER, Parties, an_invoice, notifications


async def test_the_supplier_asks_and_the_buyer_side_reads_and_answers(
    api: ApiServer, parties: Parties
) -> None:
    invoice = await an_invoice(api, "F-2026-001")
    started = await parties.supplier.start_thread(
        invoice.id, "Payment date", "When will invoice F-2026-001 be paid?"
    )
    assert started["invoice_id"] == invoice.id
    assert started["invoice_number"] == "F-2026-001"
    assert (started["subject_kind"], started["subject"]) == ("invoice", "Payment date")
    [first] = started["messages"]
    assert (first["author"], first["role"], first["side"]) == (
        parties.supplier.client_id,
        "supplier",
        "seller",
    )

    listed = (await parties.accountant.http.get(f"/v1/threads?invoice_id={invoice.id}")).json()
    assert [(t["id"], t["message_count"]) for t in listed["items"]] == [(started["id"], 1)]
    answer = await parties.accountant.answer(started["id"], "Paid on Friday.\nRegards")
    assert (answer["side"], answer["role"], answer["body"]) == (
        "buyer",
        "accountant",
        "Paid on Friday.\nRegards",
    )

    thread = (await parties.supplier.http.get(f"/v1/threads/{started['id']}")).json()
    assert [m["body"] for m in thread["messages"]] == [
        "When will invoice F-2026-001 be paid?",
        "Paid on Friday.\nRegards",
    ]
    assert thread["message_count"] == 2
    assert thread["last_message_at"] == thread["messages"][-1]["created_at"]


async def test_each_message_lands_in_the_inboxes_of_the_other_side_only(
    api: ApiServer, parties: Parties
) -> None:
    invoice = await an_invoice(api, "F-2026-002")
    thread = await parties.supplier.start_thread(invoice.id, "Missing PO", "Which PO number?")
    [to_buyer] = await parties.buyer.inbox()
    assert to_buyer["kind"] == "thread.message"
    assert "F-2026-002" in to_buyer["subject"]
    assert to_buyer["payload"] == {
        "thread_id": thread["id"],
        "invoice_id": invoice.id,
        "invoice_number": "F-2026-002",
        "message_id": thread["messages"][0]["id"],
        "author": parties.supplier.client_id,
        "author_role": "supplier",
        "author_side": "seller",
        "subject": "Missing PO",
    }
    assert len(await parties.accountant.inbox()) == 1
    for same_side_or_outsider in (
        parties.supplier,
        parties.supplier_colleague,
        parties.other_supplier,
        parties.other_buyer,
        parties.ops,
    ):
        assert await same_side_or_outsider.inbox() == []

    answer = await parties.buyer.answer(thread["id"], "PO 4500012345")
    for supplier_side in (parties.supplier, parties.supplier_colleague):
        [notified] = await supplier_side.inbox()
        assert notified["payload"]["message_id"] == answer["id"]
        assert notified["payload"]["author_side"] == "buyer"
    assert len(await parties.accountant.inbox()) == 1, "the buyer's colleagues are not told"
    assert all(n.emailed_at is None for n in await notifications(api)), "no SMTP configured"


async def test_outsiders_never_learn_that_a_thread_exists(api: ApiServer, parties: Parties) -> None:
    invoice = await an_invoice(api, "F-2026-003")
    thread = await parties.supplier.start_thread(invoice.id, "Question", "Anyone there?")
    path = f"/v1/threads/{thread['id']}"
    unknown = f"/v1/threads/{thread['id'] + 1000}"
    for outsider in (parties.other_supplier, parties.other_buyer):
        for url in (path, unknown):
            assert_problem(await outsider.http.get(url), 404, "THREAD_NOT_FOUND")
            answer = await outsider.http.post(f"{url}/messages", json={"body": "hello"})
            assert_problem(answer, 404, "THREAD_NOT_FOUND")
        listing = await outsider.http.get(f"/v1/threads?invoice_id={invoice.id}")
        assert listing.json()["items"] == []
        started = await outsider.http.post(
            "/v1/threads", json={"invoice_id": invoice.id, "subject": "x", "body": "y"}
        )
        assert_problem(started, 404, "INVOICE_NOT_FOUND")
        file = f"{path}/messages/{thread['messages'][0]['id']}/attachments/{'0' * 64}"
        assert_problem(await outsider.http.get(file), 404, "THREAD_NOT_FOUND")


async def test_operators_read_every_thread_but_write_in_none(
    api: ApiServer, parties: Parties
) -> None:
    invoice = await an_invoice(api, "F-2026-004")
    thread = await parties.buyer.start_thread(invoice.id, "Credit note", "Please send one.")
    assert thread["messages"][0]["side"] == "buyer"
    read = await parties.ops.http.get(f"/v1/threads/{thread['id']}")
    assert read.status_code == 200
    assert [t["id"] for t in (await parties.ops.http.get("/v1/threads")).json()["items"]] == [
        thread["id"]
    ]
    answer = await parties.ops.http.post(
        f"/v1/threads/{thread['id']}/messages", json={"body": "ops here"}
    )
    assert_problem(answer, 403, "FORBIDDEN_ROLE")
    started = await parties.ops.http.post(
        "/v1/threads", json={"invoice_id": invoice.id, "subject": "x", "body": "y"}
    )
    assert_problem(started, 403, "FORBIDDEN_ROLE")


async def test_empty_long_or_overloaded_messages_are_refused_and_nothing_is_kept(
    api: ApiServer, parties: Parties
) -> None:
    invoice = await an_invoice(api, "F-2026-005")
    thread = await parties.supplier.start_thread(invoice.id, "Subject", "First")
    messages = f"/v1/threads/{thread['id']}/messages"
    refusals = [
        await parties.supplier.http.post(messages, json={"body": "  \n "}),
        await parties.supplier.http.post(messages, json={"body": "x" * 10_001}),
        await parties.supplier.http.post(
            messages,
            data={"body": "eleven files"},
            files=[("attachments", (f"f{i}.txt", b"x", "text/plain")) for i in range(11)],
        ),
        await parties.supplier.http.post(
            "/v1/threads",
            json={"invoice_id": invoice.id, "subject": "two\nlines", "body": "y"},
        ),
    ]
    fields = [assert_problem(r, 422, "THREAD_MESSAGE_INVALID")["field"] for r in refusals]
    assert fields == ["body", "body", "attachments", "subject"]
    assert (await parties.supplier.http.post(messages, json={"body": "x" * 10_000})).is_success
    unknown_field = await parties.supplier.http.post(messages, json={"body": "b", "side": "buyer"})
    assert_problem(unknown_field, 422, "VALIDATION_FAILED")
    as_text = await parties.supplier.http.post(
        messages, content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert_problem(as_text, 415, "UNSUPPORTED_MEDIA_TYPE")
    async with api.sessions() as session:
        counts = (
            await session.scalar(select(func.count()).select_from(Thread)),
            await session.scalar(select(func.count()).select_from(ThreadMessage)),
        )
    assert counts == (1, 2)
    assert len(await parties.buyer.inbox()) == 2


async def test_files_sent_with_a_message_are_listed_and_downloaded_from_it_only(
    api: ApiServer, parties: Parties
) -> None:
    invoice = await an_invoice(api, "F-2026-006")
    pdf = b"%PDF-1.7 delivery note"
    started = await parties.supplier.http.post(
        "/v1/threads",
        data={"invoice_id": invoice.id, "subject": "Delivery note", "body": "Attached."},
        files=[
            ("attachments", ("bon de livraison.pdf", pdf, "application/pdf")),
            ("attachments", ("photo.png", b"\x89PNG...", "image/png")),
        ],
    )
    assert started.status_code == 201, started.text
    thread = started.json()
    [message] = thread["messages"]
    first, second = message["attachments"]
    assert first == {
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "size": len(pdf),
        "media_type": "application/pdf",
        "filename": "bon de livraison.pdf",
        "url": f"/v1/threads/{thread['id']}/messages/{message['id']}/attachments/"
        + hashlib.sha256(pdf).hexdigest(),
    }
    downloaded = await parties.accountant.http.get(first["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == pdf
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["content-disposition"] == (
        'attachment; filename="bon_de_livraison.pdf"'
    )
    assert downloaded.headers["x-content-type-options"] == "nosniff"

    reply = await parties.buyer.answer(thread["id"], "Thanks")
    elsewhere = f"/v1/threads/{thread['id']}/messages/{reply['id']}/attachments/{first['sha256']}"
    assert_problem(await parties.buyer.http.get(elsewhere), 404, "THREAD_ATTACHMENT_NOT_FOUND")
    original = (
        f"/v1/threads/{thread['id']}/messages/{message['id']}/attachments/{invoice.original_sha256}"
    )
    assert_problem(await parties.buyer.http.get(original), 404, "THREAD_ATTACHMENT_NOT_FOUND")
    assert second["filename"] == "photo.png"


async def test_listings_hold_the_threads_of_your_invoices_newest_first(
    api: ApiServer, parties: Parties
) -> None:
    ours = await an_invoice(api, "F-2026-007")
    theirs = await an_invoice(api, "F-2026-008", seller=OTHER_SELLER)
    first = await parties.supplier.start_thread(ours.id, "One", "1")
    second = await parties.buyer.start_thread(ours.id, "Two", "2")
    third = await parties.other_supplier.start_thread(theirs.id, "Three", "3")

    def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
        return [t["id"] for t in response.json()["items"]]

    assert ids(await parties.supplier.http.get("/v1/threads")) == [second["id"], first["id"]]
    assert ids(await parties.other_supplier.http.get("/v1/threads")) == [third["id"]]
    everything = [third["id"], second["id"], first["id"]]
    assert ids(await parties.accountant.http.get("/v1/threads")) == everything
    page = (await parties.buyer.http.get("/v1/threads?limit=2")).json()
    assert [t["id"] for t in page["items"]] == everything[:2]
    rest = await parties.buyer.http.get(f"/v1/threads?limit=2&before={page['next']}")
    assert ids(rest) == everything[2:]
    assert rest.json()["next"] is None
    only_theirs = await parties.buyer.http.get(f"/v1/threads?invoice_id={theirs.id}")
    assert ids(only_theirs) == [third["id"]]
