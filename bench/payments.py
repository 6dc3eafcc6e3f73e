"""pain.001 transfers per second, written and XSD-checked: `invoicing.payments` against lxml bare.

Value: `write_pain001` streams 100,000 transfers (one debtor account, one execution date, so
one `PmtInf`) into a temporary file with `etree.xmlfile`, after a first pass for the group
header's count and sum; then `validate_pain001` checks that file against the official
pain.001.001.09 XSD while parsing it (`iterparse` with the schema, each transaction dropped
once read) and adds its totals up again. Memory stays flat whatever the number of transfers.

Ceiling: what lxml does when memory is no object: the same document built in memory with
`etree.SubElement` (count and sum filled in at the end), written with `ElementTree.write` to
a temporary file, and the tree already in memory validated with the same compiled
`XMLSchema` (no re-parse). Its memory grows with the file.

Both use one list of `Transfer`s built beforehand (so the IBAN and BIC checks are outside
the timing), run in one process pinned to one core, in alternating order each round, and
are timed in CPU time; the figures are the median round's (wall clock printed too). A first
check on 1,000 transfers asserts both write the same document. Peak RSS growth is measured
for each in a fresh child process (`VmHWM`), so neither inherits the other's peak.

Run: `.venv/bin/python bench/payments.py [--count N] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from invoicing.payments.pain001 import (  # noqa: E402
    namespace,
    pain001_schema,
    validate_pain001,
    write_pain001,
)
from invoicing.payments.transfers import Debtor, Transfer  # noqa: E402

VERSION = "001.001.09"
CREATED_AT = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
EXECUTION_DATE = date(2024, 5, 3)
MESSAGE_ID = "BENCH-20240502"


def the_debtor() -> Debtor:
    """The paying account."""
    return Debtor(name="DRFIP Ile-de-France", iban="FR7630001006400000001234552", bic="BDFEFRPP")


def the_transfers(count: int) -> list[Transfer]:
    """`count` transfers to French suppliers, a third without BIC, amounts 0.01 to 1,000.00."""
    return [
        Transfer(
            end_to_end_id=f"BENCH-{n:08d}",
            amount=Decimal(n % 100_000 + 1).scaleb(-2),
            creditor_name=f"Fournisseur {n % 5000} SARL",
            creditor_iban="FR7630006000011234567890189",
            creditor_bic=None if n % 3 == 0 else "BNPAFRPP",
            remittance=f"Facture F-2024-{n:07d} du 2024-04-02",
            invoice_reference=f"invoice:12345678200010:F-2024-{n:07d}",
        )
        for n in range(count)
    ]


def pipeline(transfers: list[Transfer], debtor: Debtor, path: Path) -> None:
    """`invoicing.payments`: streamed write, then streamed XSD and totals check."""
    with path.open("wb") as out:
        header = write_pain001(
            out,
            debtor,
            transfers,
            version=VERSION,
            message_id=MESSAGE_ID,
            created_at=CREATED_AT,
            execution_date=EXECUTION_DATE,
        )
    if validate_pain001(path, VERSION) != header:
        raise AssertionError("the file read back differs from the file written")


def ceiling(transfers: list[Transfer], debtor: Debtor, path: Path) -> None:
    """Bare lxml: the whole tree in memory, written, and validated in memory."""
    ns = namespace(VERSION)

    def add(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{ns}}}{tag}")
        child.text = text
        return child

    def agent(parent: etree._Element, tag: str, bic: str) -> None:
        add(add(add(parent, tag), "FinInstnId"), "BICFI", bic)

    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    initiation = add(root, "CstmrCdtTrfInitn")
    group = add(initiation, "GrpHdr")
    add(group, "MsgId", MESSAGE_ID)
    add(group, "CreDtTm", CREATED_AT.isoformat(timespec="seconds"))
    counts = [add(group, "NbOfTxs")]
    sums = [add(group, "CtrlSum")]
    add(add(group, "InitgPty"), "Nm", debtor.name)
    batch = add(initiation, "PmtInf")
    add(batch, "PmtInfId", MESSAGE_ID)
    add(batch, "PmtMtd", "TRF")
    counts.append(add(batch, "NbOfTxs"))
    sums.append(add(batch, "CtrlSum"))
    add(add(add(batch, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    add(add(batch, "ReqdExctnDt"), "Dt", EXECUTION_DATE.isoformat())
    add(add(batch, "Dbtr"), "Nm", debtor.name)
    add(add(add(batch, "DbtrAcct"), "Id"), "IBAN", debtor.iban)
    agent(batch, "DbtrAgt", debtor.bic or "")
    add(batch, "ChrgBr", "SLEV")
    count, total = 0, Decimal(0)
    for transfer in transfers:
        transaction = add(batch, "CdtTrfTxInf")
        add(add(transaction, "PmtId"), "EndToEndId", transfer.end_to_end_id)
        amount = add(add(transaction, "Amt"), "InstdAmt", f"{transfer.amount:.2f}")
        amount.set("Ccy", transfer.currency)
        if transfer.creditor_bic:
            agent(transaction, "CdtrAgt", transfer.creditor_bic)
        add(add(transaction, "Cdtr"), "Nm", transfer.creditor_name)
        add(add(add(transaction, "CdtrAcct"), "Id"), "IBAN", transfer.creditor_iban)
        add(add(transaction, "RmtInf"), "Ustrd", transfer.remittance)
        count += 1
        total += transfer.amount
    for element in counts:
        element.text = str(count)
    for element in sums:
        element.text = f"{total:.2f}"
    etree.ElementTree(root).write(str(path), xml_declaration=True, encoding="UTF-8")
    schema = pain001_schema(VERSION)
    if not schema.validate(root):
        raise AssertionError(f"ceiling document invalid: {schema.error_log}")


Runner = Callable[[list[Transfer], Debtor, Path], None]
RUNNERS: dict[str, Runner] = {"pipeline": pipeline, "ceiling": ceiling}


def same_document(folder: Path) -> None:
    """Both ways write the same document (the pipeline adds line breaks between elements)."""
    transfers, debtor = the_transfers(1_000), the_debtor()
    parser = etree.XMLParser(remove_blank_text=True)
    written = []
    for name, run in RUNNERS.items():
        run(transfers, debtor, folder / f"{name}.xml")
        tree = etree.parse(str(folder / f"{name}.xml"), parser)
        written.append(etree.tostring(tree, method="c14n"))
    if written[0] != written[1]:
        raise AssertionError("the pipeline and the ceiling do not write the same document")


def timed(count: int, rounds: int, folder: Path) -> dict[str, list[float]]:
    """Transfers/s of each way in each round, by CPU and by wall clock."""
    transfers, debtor = the_transfers(count), the_debtor()
    rates: dict[str, list[float]] = {f"{n} {c}": [] for n in RUNNERS for c in ("cpu", "wall")}
    for round_number in range(rounds):
        order = list(RUNNERS.items())
        if round_number % 2:
            order.reverse()
        for name, run in order:
            path = folder / f"{name}.xml"
            cpu, wall = time.process_time(), time.perf_counter()
            run(transfers, debtor, path)
            rates[f"{name} cpu"].append(count / (time.process_time() - cpu))
            rates[f"{name} wall"].append(count / (time.perf_counter() - wall))
            rates.setdefault(f"{name} MiB", []).append(path.stat().st_size / 2**20)
            path.unlink()
    return rates


def peak_growth(name: str, count: int) -> float:
    """Peak RSS growth (MiB) of one run of `name`, in a fresh child process."""
    child = subprocess.run(
        [sys.executable, __file__, "--peak-of", name, "--count", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(child.stdout)["growth_mib"])


def peak_mib() -> float:
    """Peak resident set size of this process so far.

    `VmHWM`, not `ru_maxrss`: Linux carries `ru_maxrss` over `fork` and `exec`, so a child
    would start from its parent's peak.
    """
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run_once_for_peak(name: str, count: int) -> None:
    """Child side of `peak_growth`: warm up, then one run, and print the growth."""
    transfers, debtor = the_transfers(count), the_debtor()
    with tempfile.TemporaryDirectory() as folder:
        RUNNERS[name](transfers[:100], debtor, Path(folder) / "warm.xml")
        before = peak_mib()
        RUNNERS[name](transfers, debtor, Path(folder) / "run.xml")
        print(json.dumps({"growth_mib": peak_mib() - before}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="transfers in the file")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds")
    parser.add_argument("--peak-of", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_of:
        run_once_for_peak(args.peak_of, args.count)
        return

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pain001_schema(VERSION)  # compiled once per process, outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        same_document(folder)
        per_round = timed(args.count, args.rounds, folder)
    rate = {key: statistics.median(values) for key, values in per_round.items()}
    peaks = {name: peak_growth(name, args.count) for name in RUNNERS}
    value, ceiling_rate = rate["pipeline cpu"], rate["ceiling cpu"]

    print(f"{args.count} transfers, pain.{VERSION}, {args.rounds} rounds, one core")
    print("                               transfers/s (CPU)  (wall)   file MiB  peak RSS growth")
    labels = {"pipeline": "streamed write + check", "ceiling": "lxml tree + validate"}
    for name, label in labels.items():
        print(
            f"{name:8} {label:22} {rate[f'{name} cpu']:12.0f} {rate[f'{name} wall']:10.0f}"
            f" {rate[f'{name} MiB']:9.1f} {peaks[name]:12.1f} MiB"
        )
    print(
        f"BENCH payments value={value:.0f} unit=transfers/s ceiling={ceiling_rate:.0f} "
        f"ratio={value / ceiling_rate:.3f}"
    )


if __name__ == "__main__":
    main()
