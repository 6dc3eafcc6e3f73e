"""Invoices validated per second on one core: the whole pipeline against its ceiling.

The ceiling is the same official artefacts run bare on the same files, in the same process:
lxml parse and XSD validation, then the EN 16931 and BR-FR stylesheets with saxonche, each
compiled once, nothing else. The pipeline adds hardened parsing, syntax and profile
detection, artefact selection and the SVRL-to-findings reading; the ratio says what that
costs. Both run in one thread pinned to one CPU, invoice by invoice in alternation (so Saxon's
garbage collections fall on both alike), and are timed in process CPU time, so that other
processes sharing the machine do not skew the figures (wall-clock figures are printed too).

Then the pipeline runs `--count` more times (10,000 by default, about 2 to 3 minutes here)
and the growth of the resident set size is reported: it should stay flat.

Run: `.venv/bin/python bench/validation.py [--count N] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable

from lxml import etree
from saxonche import PySaxonProcessor, PyXsltExecutable

from core.config import Settings
from invoicing.validation import official_artefact
from invoicing.validation.pipeline import Level, validate, warm_up
from invoicing.validation.schemas import Xsd
from invoicing.validation.schematron import Stylesheet, saxon_processor

SMALL_INVOICE = 100 * 1024  # leaves out the 3.3 MB Italian invoice and its attachment


def corpus_invoices() -> list[bytes]:
    """The UBL invoices of the corpus (no credit notes: the bare run has one XSD)."""
    folder = Settings().shared_dir / "corpus" / "invoices" / "ubl" / "valid"
    files = sorted(p for p in folder.iterdir() if p.stat().st_size < SMALL_INVOICE)
    invoices = [p.read_bytes() for p in files]
    return [data for data in invoices if b"<CreditNote" not in data[:2000]]


class Bare:
    """The official artefacts and nothing else: one XSD, two compiled stylesheets."""

    def __init__(self, processor: PySaxonProcessor) -> None:
        self.processor = processor
        self.xsd = etree.XMLSchema(etree.parse(str(official_artefact(Xsd.UBL_INVOICE))))
        compiler = processor.new_xslt30_processor()
        self.stylesheets: list[PyXsltExecutable] = [
            compiler.compile_stylesheet(stylesheet_file=str(official_artefact(s)))
            for s in (Stylesheet.EN16931_UBL, Stylesheet.BR_FR_UBL)
        ]

    def __call__(self, data: bytes) -> None:
        self.xsd.validate(etree.fromstring(data))
        node = self.processor.parse_xml(xml_text=data.decode("utf-8"), encoding="UTF-8")
        for stylesheet in self.stylesheets:
            stylesheet.transform_to_string(xdm_node=node)


def pipeline(data: bytes) -> None:
    """Stages (a) to (d): what an intake activity runs, without platform rules."""
    validate(data, level=Level.FULL)


Runner = Callable[[bytes], None]


def timed(runners: dict[str, Runner], invoices: list[bytes], rounds: int) -> dict[str, float]:
    """CPU and wall seconds per runner, running them in turn on each invoice."""
    spent = {f"{name} {clock}": 0.0 for name in runners for clock in ("cpu", "wall")}
    for round_number in range(rounds):
        order = list(runners.items())
        if round_number % 2:
            order.reverse()  # neither always runs right after the other's garbage
        for data in invoices:
            for name, run in order:
                cpu, wall = time.process_time(), time.perf_counter()
                run(data)
                spent[f"{name} cpu"] += time.process_time() - cpu
                spent[f"{name} wall"] += time.perf_counter() - wall
    return spent


def rss_mib() -> float:
    """Current resident set size (not the peak)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="timed rounds over the invoices")
    parser.add_argument("--count", type=int, default=10_000, help="validations for the RSS")
    args = parser.parse_args()

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, before Saxon starts
    invoices = corpus_invoices()
    warm_up()
    bare = Bare(saxon_processor())
    runners: dict[str, Runner] = {"pipeline": pipeline, "bare": bare}
    timed(runners, invoices, rounds=2)  # let caches and Saxon's heap settle

    spent = timed(runners, invoices, args.rounds)
    done = len(invoices) * args.rounds
    rate = {key: done / seconds for key, seconds in spent.items()}
    value, ceiling = rate["pipeline cpu"], rate["bare cpu"]
    size = sum(map(len, invoices)) / len(invoices) / 1024
    print(f"{len(invoices)} UBL invoices of {size:.1f} KiB on average, {args.rounds} rounds")
    print("invoices/s on one core              CPU time   wall clock")
    print(f"pipeline (stages a-d, findings)    {value:8.1f}     {rate['pipeline wall']:8.1f}")
    print(f"bare artefacts (XSD, 2 XSLT)       {ceiling:8.1f}     {rate['bare wall']:8.1f}")

    before = rss_mib()
    started = time.perf_counter()
    for n in range(args.count):
        pipeline(invoices[n % len(invoices)])
    elapsed = time.perf_counter() - started
    print(
        f"RSS {before:.0f} MiB -> {rss_mib():.0f} MiB over {args.count} validations "
        f"({elapsed:.0f} s, {args.count / elapsed:.1f} invoices/s)"
    )
    print(
        f"BENCH validation value={value:.1f} unit=invoices/s ceiling={ceiling:.1f} "
        f"ratio={value / ceiling:.3f}"
    )


if __name__ == "__main__":
    main()
