"""Invoices validated per second on one core: the whole pipeline against its ceiling.

The ceiling is the same official artefacts run bare on the same files, in the same process:
lxml parse and XSD validation, then the EN 16931 and BR-FR stylesheets with saxonche, each
compiled once, nothing else. The pipeline adds hardened parsing, syntax and profile
detection, artefact selection and the SVRL-to-findings reading; the ratio says what that
costs. Both run in one thread pinned to one CPU, invoice by invoice in alternation (so Saxon's
garbage collections fall on both alike), timed in process CPU time; the figures are the
median round's, so that other processes sharing the machine do not skew them (wall-clock
figures are printed too).

Then the pipeline runs `--count` more times (10,000 by default: the whole script takes about
3 minutes here) and the resident set size is sampled as it goes: it should stay flat.

Run: `.venv/bin/python bench/validation.py [--count N] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
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


def timed(runners: dict[str, Runner], invoices: list[bytes], rounds: int) -> dict[str, list[float]]:
    """Invoices/s of each runner in each round, by CPU and by wall clock.

    The runners take turns on each invoice, so a round's figures share its disturbances.
    """
    rates: dict[str, list[float]] = {
        f"{name} {clock}": [] for name in runners for clock in ("cpu", "wall")
    }
    for round_number in range(rounds):
        order = list(runners.items())
        if round_number % 2:
            order.reverse()  # neither always runs right after the other's garbage
        spent = dict.fromkeys(rates, 0.0)
        for data in invoices:
            for name, run in order:
                cpu, wall = time.process_time(), time.perf_counter()
                run(data)
                spent[f"{name} cpu"] += time.process_time() - cpu
                spent[f"{name} wall"] += time.perf_counter() - wall
        for key, seconds in spent.items():
            rates[key].append(len(invoices) / seconds)
    return rates


def rss_mib() -> float:
    """Current resident set size (not the peak)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=16, help="timed rounds over the invoices")
    parser.add_argument("--count", type=int, default=10_000, help="validations for the RSS")
    args = parser.parse_args()

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, before Saxon starts
    invoices = corpus_invoices()
    warm_up()
    bare = Bare(saxon_processor())
    runners: dict[str, Runner] = {"pipeline": pipeline, "bare": bare}
    timed(runners, invoices, rounds=2)  # let caches and Saxon's heap settle

    # Medians of the rounds: a round disturbed by another process on the machine is ignored.
    per_round = timed(runners, invoices, args.rounds)
    rate = {key: statistics.median(rates) for key, rates in per_round.items()}
    value, ceiling = rate["pipeline cpu"], rate["bare cpu"]
    size = sum(map(len, invoices)) / len(invoices) / 1024
    print(f"{len(invoices)} UBL invoices of {size:.1f} KiB on average, {args.rounds} rounds")
    print("invoices/s on one core (median round)  CPU time   wall clock")
    print(f"pipeline (stages a-d, findings)       {value:8.1f}     {rate['pipeline wall']:8.1f}")
    print(f"bare artefacts (XSD, 2 XSLT)          {ceiling:8.1f}     {rate['bare wall']:8.1f}")

    samples = [rss_mib()]  # RSS after each fifth of the run: a leak climbs, a heap plateaus
    started = time.perf_counter()
    for n in range(args.count):
        pipeline(invoices[n % len(invoices)])
        if (n + 1) % max(1, args.count // 5) == 0:
            samples.append(rss_mib())
    elapsed = time.perf_counter() - started
    print(
        f"RSS over {args.count} validations ({elapsed:.0f} s, {args.count / elapsed:.1f}/s): "
        + " -> ".join(f"{mib:.0f}" for mib in samples)
        + f" MiB, growth {samples[-1] - samples[0]:+.0f} MiB"
    )
    print(
        f"BENCH validation value={value:.1f} unit=invoices/s ceiling={ceiling:.1f} "
        f"ratio={value / ceiling:.3f}"
    )


if __name__ == "__main__":
    main()
