"""`chaine directory import`: load public structures or suppliers from a CSV file.

Good lines are kept and bad ones reported with their line number and reason; records are
upserted by SIRET (or scheme + identifier) and committed in batches, so re-importing a
file, or finishing an interrupted import, is safe and changes only what changed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli.settings import command_settings
from directory.csv_layouts import DirectoryCsv, LineError, read_directory_csv
from directory.records import CommitmentRecord, StructureRecord, SupplierRecord
from store.commitments import CommitmentRepository
from store.database import make_async_engine, make_sessionmaker, transaction
from store.directory import DirectoryRepository, UpsertOutcome
from store.migrate import upgrade

BATCH_SIZE = 500  # records per transaction: a crash keeps every committed batch
SHOWN_REFUSALS = 1000  # beyond this, the table would drown the summary; the count stays exact
_PROGRESS_STEP = 64 * 1024  # bytes read between two progress bar updates

app = typer.Typer(help="Public structures, their services, and suppliers.", no_args_is_help=True)

DirectoryRecord = StructureRecord | SupplierRecord | CommitmentRecord


@dataclass
class ImportReport:
    """What an import did: records written by outcome, and the refused lines."""

    records: int = 0
    outcomes: Counter[UpsertOutcome] = field(default_factory=Counter)
    refused: list[LineError] = field(default_factory=list)
    refused_count: int = 0

    def refuse(self, error: LineError) -> None:
        """Count a refused line, keeping the first ones to show."""
        self.refused_count += 1
        if len(self.refused) < SHOWN_REFUSALS:
            self.refused.append(error)


@app.command("import")
def import_file(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="structures.csv, suppliers.csv or commitments.csv",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every line; write nothing.")
    ] = False,
) -> None:
    """Import a structures, suppliers or commitments CSV file; its header says which.

    Exits 1 if any line was refused; the good lines are imported all the same.
    """
    settings = command_settings()
    console = Console(stderr=True)
    progress = _progress(console)
    with path.open("rb") as file:
        task = progress.add_task(path.name, total=path.stat().st_size)
        parsed = read_directory_csv(_advancing(file, progress, task))  # the header, at once
        with progress:
            report = _check(parsed) if dry_run else _import(parsed, settings.effective_database_url)
    _print_report(console, path, report, dry_run=dry_run)
    if report.refused_count:
        raise typer.Exit(1)


commitments_app = typer.Typer(
    help="Legal commitments (EJ) that invoices reference in BT-13.", no_args_is_help=True
)
commitments_app.command("import")(import_file)  # the same import: the header tells the kind


def _check(parsed: DirectoryCsv) -> ImportReport:
    """Read every line without touching the database."""
    report = ImportReport()
    for _ in _records(parsed.entries, report):
        report.records += 1
    return report


def _import(parsed: DirectoryCsv, database_url: str) -> ImportReport:
    """Upsert the good records batch by batch, each batch its own transaction."""
    upgrade(database_url)
    report = ImportReport()
    engine = make_async_engine(database_url)
    with asyncio.Runner() as runner:
        try:
            sessions = make_sessionmaker(engine)
            for batch in _batches(_records(parsed.entries, report)):
                report.outcomes.update(runner.run(_write(sessions, batch)))
                report.records += len(batch)
        finally:
            runner.run(engine.dispose())
    return report


async def _write(
    sessions: async_sessionmaker[AsyncSession], batch: list[DirectoryRecord]
) -> list[UpsertOutcome]:
    async with transaction(sessions) as session:
        directory = DirectoryRepository(session)
        structures = [record for record in batch if isinstance(record, StructureRecord)]
        suppliers = [record for record in batch if isinstance(record, SupplierRecord)]
        commitments = [record for record in batch if isinstance(record, CommitmentRecord)]
        return (
            await directory.upsert_structures(structures)
            + await directory.upsert_suppliers(suppliers)
            + await CommitmentRepository(session).upsert(commitments)
        )


def _records(
    entries: Iterable[DirectoryRecord | LineError], report: ImportReport
) -> Iterator[DirectoryRecord]:
    """The good records; refused lines go to the report."""
    for entry in entries:
        if isinstance(entry, LineError):
            report.refuse(entry)
        else:
            yield entry


def _batches(records: Iterator[DirectoryRecord]) -> Iterator[list[DirectoryRecord]]:
    batch: list[DirectoryRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _advancing(lines: Iterable[bytes], progress: Progress, task: TaskID) -> Iterator[bytes]:
    """The lines of the file, moving the progress bar by the bytes read."""
    pending = 0
    for line in lines:
        pending += len(line)
        if pending >= _PROGRESS_STEP:
            progress.advance(task, pending)
            pending = 0
        yield line
    progress.advance(task, pending)


def _print_report(console: Console, path: Path, report: ImportReport, *, dry_run: bool) -> None:
    if dry_run:
        done = f"{report.records} record(s) valid, nothing written (--dry-run)"
    else:
        done = (
            f"{report.records} record(s) imported ("
            + ", ".join(f"{report.outcomes[outcome]} {outcome}" for outcome in UpsertOutcome)
            + ")"
        )
    console.print(
        Text(f"{path.name}: {done}; {report.refused_count} line(s) refused."), soft_wrap=True
    )
    if not report.refused:
        return
    table = Table(title="Refused lines", title_justify="left")
    table.add_column("line", justify="right", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("reason")
    for error in report.refused:
        table.add_row(str(error.line), str(error.code), Text(error.reason))
    console.print(table)
    hidden = report.refused_count - len(report.refused)
    if hidden:
        console.print(
            f"... and {hidden} more refused line(s): fix the ones shown and import again "
            "(imported lines are simply updated)."
        )
