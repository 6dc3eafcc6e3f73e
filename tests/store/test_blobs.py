"""The blob store keeps bytes under their hash, atomically, and never serves corrupted ones."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from store.blobs import BlobCorrupted, BlobNotFound, BlobStore, BlobTooLarge

INVOICE = Path(__file__).resolve().parents[3] / "shared/corpus/invoices/ubl/valid"


def test_a_blob_is_kept_under_its_sha256(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ref = store.put(b"facture 2026-001")
    assert ref.sha256 == hashlib.sha256(b"facture 2026-001").hexdigest()
    assert ref.size == 16
    assert store.path(ref.sha256).parent.parent.name == ref.sha256[:2]
    assert store.read(ref.sha256) == b"facture 2026-001"


def test_storing_the_same_content_twice_keeps_one_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    first, second = store.put(b"same"), store.put(b"same")
    assert first == second
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [store.path(first.sha256)]


def test_a_real_invoice_streams_in_and_out_unchanged(tmp_path: Path) -> None:
    source = next(INVOICE.glob("*.xml")).read_bytes()
    store = BlobStore(tmp_path)
    chunks = [source[i : i + 1000] for i in range(0, len(source), 1000)]
    ref = store.put_chunks(chunks, max_bytes=len(source))
    assert b"".join(store.iter_chunks(ref.sha256)) == source


def test_a_stream_over_the_limit_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(BlobTooLarge):
        store.put_chunks([b"x" * 600, b"x" * 600], max_bytes=1000)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


async def test_an_async_upload_is_stored(tmp_path: Path) -> None:
    async def upload():
        for part in (b"<Invoice>", b"</Invoice>"):
            yield part

    ref = await BlobStore(tmp_path).put_async(upload(), max_bytes=100)
    assert BlobStore(tmp_path).read(ref.sha256) == b"<Invoice></Invoice>"


def test_corruption_on_disk_is_detected_on_read(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ref = store.put(b"montant 1200.00")
    store.path(ref.sha256).write_bytes(b"montant 9200.00")
    with pytest.raises(BlobCorrupted):
        store.read(ref.sha256)
    with pytest.raises(BlobCorrupted):
        b"".join(store.iter_chunks(ref.sha256))


def test_unknown_and_malformed_hashes_are_not_found(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(BlobNotFound):
        store.read("0" * 64)
    with pytest.raises(BlobNotFound):
        store.read("../../etc/passwd")
