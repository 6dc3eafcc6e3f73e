"""Reading uploaded files into the blob store: streamed, size-capped, gzip only if declared."""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import FormData, UploadFile

from core.errors import ChaineError, ErrorCode
from store.blobs import BlobRef, BlobStore
from workflows.invoice_actions import Attachment

INVOICE_MEDIA_TYPES = {"application/xml", "text/xml", "application/pdf"}
_UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")


class UnsupportedEncoding(ChaineError):
    """Only identity and gzip content encodings are read."""

    code = ErrorCode.BODY_ENCODING_UNSUPPORTED
    status = 415


class InflatedTooLarge(ChaineError):
    """A compressed body inflates past the size limit (a compression bomb, or just big)."""

    code = ErrorCode.BODY_INFLATED_TOO_LARGE
    status = 413


@dataclass(frozen=True)
class StoredUpload:
    """A file received and stored, with what the client said it was."""

    blob: BlobRef
    media_type: str
    filename: str | None


def download_filename(name: str | None, fallback: str) -> str:
    """A file name safe in a `Content-Disposition` header (others become `_`), or `fallback`."""
    return _UNSAFE_FILENAME_CHARACTERS.sub("_", name or "") or fallback


def blob_download(
    blobs: BlobStore, sha256: str, name: str | None, media_type: str, fallback: str = ""
) -> StreamingResponse:
    """A stored file as an attachment: streamed, named safely, its digest given, and never
    sniffed into something a browser would render (files come from other parties)."""
    safe = download_filename(name, fallback=fallback or sha256[:16])
    return StreamingResponse(
        blobs.iter_chunks(sha256),
        media_type=media_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Digest": f"sha-256={sha256}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def media_type_of(value: str | None) -> str:
    """The media type without parameters, lower case."""
    return (value or "").split(";")[0].strip().lower()


async def _gunzip(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    produced = 0
    async for chunk in chunks:
        # max_length bounds each step, so a bomb never inflates more than the limit in memory.
        data = chunk
        while data:
            out = inflater.decompress(data, max_bytes + 1 - produced)
            produced += len(out)
            if produced > max_bytes:
                raise InflatedTooLarge(f"the body inflates past {max_bytes} bytes", limit=max_bytes)
            yield out
            data = inflater.unconsumed_tail
    try:
        yield inflater.flush()
    except zlib.error as exc:
        raise UnsupportedEncoding(f"the gzip body is corrupt: {exc}") from None


async def store_body(request: Request, blobs: BlobStore, max_bytes: int) -> BlobRef:
    """Stream the request body into the blob store, inflating a declared gzip body."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    chunks: AsyncIterator[bytes] = request.stream()
    if encoding == "gzip":
        chunks = _gunzip(chunks, max_bytes)
    elif encoding != "identity":
        raise UnsupportedEncoding(f"content encoding {encoding[:40]!r} is not accepted; use gzip")
    try:
        return await blobs.put_async(chunks, max_bytes)
    except zlib.error as exc:
        raise UnsupportedEncoding(f"the gzip body is corrupt: {exc}") from None


async def store_attachments(form: FormData, blobs: BlobStore, max_bytes: int) -> list[Attachment]:
    """Store the files of the multipart part `attachments` (supporting documents)."""
    attachments = []
    for part in form.getlist("attachments"):
        if not isinstance(part, str):
            stored = await store_upload(part, blobs, max_bytes)
            attachments.append(
                Attachment(stored.blob.sha256, stored.blob.size, stored.media_type, stored.filename)
            )
    return attachments


async def store_upload(upload: UploadFile, blobs: BlobStore, max_bytes: int) -> StoredUpload:
    """Store one file of a multipart body."""

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(1024 * 1024):
            yield chunk

    blob = await blobs.put_async(chunks(), max_bytes)
    return StoredUpload(blob, media_type_of(upload.content_type), upload.filename)
