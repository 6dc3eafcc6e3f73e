"""EDI mode from the command line: `chaine flows submit DIR` and `chaine edi watch IN --out OUT`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.principals import Role
from directory.records import StructureCategory, StructureRecord
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
async def credentials(api: ApiServer) -> dict[str, str]:
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_structure(
            StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
        )
    client_id, secret = await api.credentials(Role.SUPPLIER, SELLER_SIRET)
    return {
        **os.environ,
        "CHAINE_CLIENT_ID": client_id,
        "CHAINE_CLIENT_SECRET": secret,
        "CHAINE_LOG_LEVEL": "WARNING",
    }


async def chaine(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `chaine ARGS` without blocking the event loop that serves the in-process workers."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def drop(directory: Path, name: str, **fields: object) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_bytes(write_invoice(an_invoice(**fields), Syntax.UBL))


async def test_flows_submit_deposits_a_directory_and_prints_each_outcome(
    api: ApiServer, credentials: dict[str, str], tmp_path: Path
) -> None:
    drop(tmp_path / "in", "a.xml", number="EDI-1")
    drop(tmp_path / "in", "b.xml", number="EDI-2", buyer_siret=SELLER_SIRET)
    done = await chaine(credentials, "flows", "submit", str(tmp_path / "in"), "--api", api.url)
    assert done.returncode == 1, done.stderr  # one file was rejected
    assert "PARTIALLY_INTEGRATED" in done.stdout
    assert "MISE_A_DISPOSITION" in done.stdout
    assert "PF-BUYER-UNKNOWN" in done.stdout


async def test_edi_watch_deposits_each_file_once_with_one_report_each(
    api: ApiServer, credentials: dict[str, str], tmp_path: Path
) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    drop(inbox, "good.xml", number="EDI-10")
    drop(inbox, "bad.xml", number="EDI-11", buyer_siret=SELLER_SIRET)
    args = ("edi", "watch", str(inbox), "--out", str(out), "--api", api.url, "--once")
    first = await chaine(credentials, *args)
    assert first.returncode == 0, first.stderr
    good = json.loads((out / "good.xml.report.json").read_text())
    bad = json.loads((out / "bad.xml.report.json").read_text())
    assert (good["http_status"], good["status"]) == (201, "MISE_A_DISPOSITION")
    assert (bad["http_status"], bad["code"]) == (422, "INVOICE_INVALID")
    assert [f["rule"] for f in bad["report"]["findings"]] == ["PF-BUYER-UNKNOWN"]

    drop(inbox, "later.xml", number="EDI-12")
    second = await chaine(credentials, *args)
    assert second.stdout.splitlines() == ["later.xml: MISE_A_DISPOSITION (201)"]
    reports = sorted(p.name for p in out.iterdir())
    assert reports == ["bad.xml.report.json", "good.xml.report.json", "later.xml.report.json"]
