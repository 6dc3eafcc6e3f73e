"""`chaine directory import`, run as a real command against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from directory.identifiers import IdentifierScheme
from store.commitments import CommitmentRepository
from store.directory import DirectoryRepository
from store.models import Service, Structure, Supplier

Sessions = async_sessionmaker[AsyncSession]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MINISTRY = "11000201100044"
CITY = "21750001600019"
HOSPITAL = "26750045200011"
STRUCTURES_HEADER = (
    "siret,name,category,active,service_code_required,commitment_required,"
    "payment_status_not_reported,service_code,service_name,service_active"
)


@dataclass(frozen=True)
class Run:
    """How the command ended and what it said on stderr."""

    exit_code: int
    stderr: str


ImportCommand = Callable[..., Awaitable[Run]]


@pytest.fixture
def chaine_import(database_url: str, tmp_path: Path) -> ImportCommand:
    """Run `chaine directory import ARGS...` on the test database."""
    env = {
        **os.environ,
        "CHAINE_DATABASE_URL": database_url,
        "CHAINE_VAR_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",  # rich tables wrap at 80 columns without a terminal
    }

    async def run(*args: str | Path) -> Run:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli.main",
            "directory",
            "import",
            *map(str, args),
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        assert process.returncode is not None
        return Run(process.returncode, stderr.decode())

    return run


def a_csv(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


async def counts(sessions: Sessions) -> tuple[int, int, int]:
    """How many structures, services and suppliers are stored."""
    async with sessions() as session:
        return (
            await session.scalar(select(func.count()).select_from(Structure)) or 0,
            await session.scalar(select(func.count()).select_from(Service)) or 0,
            await session.scalar(select(func.count()).select_from(Supplier)) or 0,
        )


def refused(run: Run, line: int, code: str) -> bool:
    """Whether the table of refused lines has this line with this code."""
    return re.search(rf"│\s+{line} │ {code}\s+│", run.stderr) is not None


async def test_the_example_files_import_cleanly(
    chaine_import: ImportCommand, sessions: Sessions
) -> None:
    structures = await chaine_import(EXAMPLES / "structures.csv")
    suppliers = await chaine_import(EXAMPLES / "suppliers.csv")

    assert structures.exit_code == 0, structures.stderr
    assert "5 record(s) imported (5 created, 0 updated, 0 unchanged); 0 line(s)" in (
        structures.stderr
    )
    assert suppliers.exit_code == 0, suppliers.stderr
    assert await counts(sessions) == (5, 5, 4)
    async with sessions() as session:
        directory = DirectoryRepository(session)
        ministry = await directory.structure(MINISTRY)
        german = await directory.supplier(IdentifierScheme.EU_VAT, "DE136695976")
    assert ministry is not None and ministry.service_code_required
    assert german is not None and german.iban == "DE89370400440532013000"


async def test_reimport_is_idempotent(chaine_import: ImportCommand, sessions: Sessions) -> None:
    await chaine_import(EXAMPLES / "structures.csv")
    await chaine_import(EXAMPLES / "suppliers.csv")
    before = await counts(sessions)

    again = await chaine_import(EXAMPLES / "structures.csv")
    suppliers_again = await chaine_import(EXAMPLES / "suppliers.csv")

    assert again.exit_code == 0
    assert "(0 created, 0 updated, 5 unchanged)" in again.stderr
    assert "(0 created, 0 updated, 4 unchanged)" in suppliers_again.stderr
    assert await counts(sessions) == before


async def test_bad_lines_are_reported_by_number_and_reason_and_good_lines_kept(
    chaine_import: ImportCommand,
    sessions: Sessions,
    tmp_path: Path,
) -> None:
    path = a_csv(
        tmp_path,
        "structures.csv",
        STRUCTURES_HEADER,
        f"{MINISTRY},Ministère,STATE,true,false,false,false,ACHATS,Achats,true",
        "11000201100045,Mauvais SIRET,STATE,,,,,,,",
        f"{CITY},Commune,MAIRIE,,,,,,,",
        f"{HOSPITAL},Hôpital,HOSPITAL,true",
        f"{MINISTRY},Ministère,STATE,true,false,false,false,IMMO,Immobilier,true",
    )

    run = await chaine_import(path)

    assert run.exit_code == 1
    assert (
        "1 record(s) imported (1 created, 0 updated, 0 unchanged); 3 line(s) refused" in run.stderr
    )
    assert refused(run, 3, "SIRET_INVALID")
    assert "siret: '11000201100045' is not a valid SIRET" in run.stderr
    assert refused(run, 4, "CATEGORY_UNKNOWN")
    assert "category: 'MAIRIE' is not one of" in run.stderr
    assert refused(run, 5, "CSV_MALFORMED")
    assert "4 field(s) where the header has 10" in run.stderr
    assert await counts(sessions) == (1, 2, 0)


async def test_bad_supplier_lines_are_reported_and_good_ones_kept(
    chaine_import: ImportCommand,
    sessions: Sessions,
    tmp_path: Path,
) -> None:
    path = a_csv(
        tmp_path,
        "suppliers.csv",
        "scheme;identifier;name;iban;bic;email",
        "SIRET;78467169500087;Papeterie;FR7630006000011234567890188;;",
        "SIRET;55208131766522;Travaux;FR7610107001180002010123465;BREDFRPP;compta@tp.example",
        "DUNS;123456789;Ailleurs;;;",
    )

    run = await chaine_import(path)

    assert run.exit_code == 1
    assert refused(run, 2, "IBAN_INVALID")
    assert refused(run, 4, "IDENTIFIER_SCHEME_UNKNOWN")
    assert await counts(sessions) == (0, 0, 1)


async def test_the_seven_column_structures_file_imports(
    chaine_import: ImportCommand,
    sessions: Sessions,
    tmp_path: Path,
) -> None:
    path = a_csv(
        tmp_path,
        "structures.csv",
        "siret,name,category,active,service_code_required,commitment_required,"
        "payment_status_not_reported",
        "11000201100044,Ministère test,STATE,true,false,false,false",
    )

    run = await chaine_import(path)

    assert run.exit_code == 0, run.stderr
    assert await counts(sessions) == (1, 0, 0)


async def test_a_file_without_the_required_columns_is_refused_whole(
    chaine_import: ImportCommand,
    sessions: Sessions,
    tmp_path: Path,
) -> None:
    path = a_csv(tmp_path, "structures.csv", "siret,name", f"{MINISTRY},Ministère")

    run = await chaine_import(path)

    assert run.exit_code == 1
    assert "error [CSV_COLUMNS_MISSING]" in run.stderr
    assert "category, active, service_code_required" in run.stderr
    assert "Traceback" not in run.stderr
    assert await counts(sessions) == (0, 0, 0)


async def test_a_dry_run_reports_bad_lines_and_writes_nothing(
    chaine_import: ImportCommand,
    sessions: Sessions,
    tmp_path: Path,
) -> None:
    path = a_csv(
        tmp_path,
        "structures.csv",
        STRUCTURES_HEADER,
        f"{MINISTRY},Ministère,STATE,,,,,,,",
        f"{CITY},Commune,LOCAL_AUTHORITY,maybe,,,,,,",
    )

    run = await chaine_import(path, "--dry-run")

    assert run.exit_code == 1
    assert "1 record(s) valid, nothing written (--dry-run); 1 line(s) refused" in run.stderr
    assert refused(run, 3, "CSV_VALUE_INVALID")
    assert await counts(sessions) == (0, 0, 0)


async def test_commitments_import_and_reimport_is_idempotent(
    chaine_import: ImportCommand, sessions: Sessions
) -> None:
    first = await chaine_import(EXAMPLES / "commitments.csv")
    again = await chaine_import(EXAMPLES / "commitments.csv")
    assert first.exit_code == again.exit_code == 0, first.stderr
    assert "(3 created, 0 updated, 0 unchanged)" in first.stderr
    assert "(0 created, 0 updated, 3 unchanged)" in again.stderr
    async with sessions() as session:
        presumed = await CommitmentRepository(session).get("EJ-2026-0002")
    assert presumed is not None and presumed.service_done_presumed and not presumed.works


async def test_a_bad_commitment_line_is_reported_and_the_good_one_kept(
    chaine_import: ImportCommand, tmp_path: Path
) -> None:
    header = (
        "commitment,buyer_siret,supplier_siret,ceiling,service_done_presumed,works,"
        "paying_service,active"
    )
    path = a_csv(
        tmp_path,
        "commitments.csv",
        header,
        f"EJ-1,{MINISTRY},78467169500087,-5,false,false,,true",
        f"EJ-2,{MINISTRY},78467169500087,1000.00,false,false,,true",
    )
    run = await chaine_import(path)
    assert run.exit_code == 1
    assert refused(run, 2, "CSV_VALUE_INVALID")
    assert "(1 created, 0 updated, 0 unchanged)" in run.stderr


async def test_chaine_commitments_import_is_the_same_import(
    database_url: str, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "commitments",
        "import",
        str(EXAMPLES / "commitments.csv"),
        env={
            **os.environ,
            "CHAINE_DATABASE_URL": database_url,
            "CHAINE_VAR_DIR": str(tmp_path / "var"),
            "COLUMNS": "200",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert "3 created" in stderr.decode()
