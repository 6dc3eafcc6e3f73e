"""Content-addressed blob store: files kept under their SHA-256, written atomically.

A blob is written to a temporary file in the store, hashed and size-checked while it
streams in, flushed to disk, then renamed into place: a crash leaves either the whole
blob or nothing in place; the temporary file of a writer that died is removed when the
store is next opened (a live writer holds a lock on its own). Reading checks the hash again,
so silent disk corruption is reported, never served.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import ChaineError, ErrorCode

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobTooLarge(ChaineError):
    """A blob went over its size limit while streaming in; nothing was kept."""

    code = ErrorCode.BLOB_TOO_LARGE
    status = 413


class BlobNotFound(ChaineError):
    """No blob has this hash."""

    code = ErrorCode.BLOB_NOT_FOUND
    status = 404


class BlobCorrupted(ChaineError):
    """The bytes on disk no longer match their hash."""

    code = ErrorCode.BLOB_CORRUPTED
    status = 500


@dataclass(frozen=True)
class BlobRef:
    """What Temporal payloads and records carry instead of the bytes."""

    sha256: str
    size: int


INCOMING_PREFIX = ".incoming-"


class BlobStore:
    """Blobs under `root/ab/cd/abcd...`, two directory levels to keep folders small."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def remove_abandoned(self) -> int:
        """Delete the temporary files of writers that died (a killed process mid-upload):
        those no live writer holds locked. Returns how many were removed."""
        removed = 0
        for leftover in self.root.glob(f"{INCOMING_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError), leftover.open("rb") as probe:
                try:
                    fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a writer is at work on it
                leftover.unlink()
                removed += 1
        return removed

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives."""
        if not _SHA256.match(sha256):
            raise BlobNotFound(f"{sha256[:80]!r} is not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).exists()

    def put(self, data: bytes) -> BlobRef:
        """Store bytes already in memory."""
        return self.put_chunks([data], max_bytes=len(data))

    def put_chunks(self, chunks: Iterable[bytes], max_bytes: int) -> BlobRef:
        """Store a stream of chunks, refusing it past `max_bytes`."""
        with self._writer(max_bytes) as writer:
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit()

    async def put_async(self, chunks: AsyncIterable[bytes], max_bytes: int) -> BlobRef:
        """Store an async stream (an HTTP upload), refusing it past `max_bytes`."""
        with self._writer(max_bytes) as writer:
            async for chunk in chunks:
                writer.write(chunk)
            return writer.commit()

    def read(self, sha256: str) -> bytes:
        """The blob's bytes, after checking they still match the hash."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobCorrupted(f"blob {sha256} does not match its hash")
        return data

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        """Stream the blob; the hash is checked at the end and a mismatch raises."""
        digest = hashlib.sha256()
        try:
            handle = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256}") from None
        with handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                yield chunk
        if digest.hexdigest() != sha256:
            raise BlobCorrupted(f"blob {sha256} does not match its hash")

    def _writer(self, max_bytes: int) -> _BlobWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        return _BlobWriter(self, max_bytes)


class _BlobWriter:
    """One blob being written: a temporary file, its running hash and size."""

    def __init__(self, store: BlobStore, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        fd, name = tempfile.mkstemp(dir=store.root, prefix=INCOMING_PREFIX)
        # Held until the file is closed or the process dies: `remove_abandoned` spares it.
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.tmp = Path(name)
        self.handle = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def __enter__(self) -> _BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.tmp.unlink(missing_ok=True)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise BlobTooLarge(f"more than {self.max_bytes} bytes", limit=self.max_bytes)
        self.digest.update(chunk)
        self.handle.write(chunk)

    def commit(self) -> BlobRef:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        sha256 = self.digest.hexdigest()
        final = self.store.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        # Renamed while still locked (closing unlocks), so `remove_abandoned` never sees it
        # unlocked under its temporary name. Same content, same name: a second writer is
        # harmless.
        os.replace(self.tmp, final)
        self.handle.close()
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return BlobRef(sha256=sha256, size=self.size)
