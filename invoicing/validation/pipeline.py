"""Validate an invoice file through every stage and report every problem at once.

Stages: (a) well-formed and hardened, syntax known (`invoicing.document.load_document`);
(b) XSD (`schemas`); (c) EN 16931 business rules and (d) French BR-FR rules (`schematron`);
(e) platform rules, a callback given by the caller. A refusal at (a) is the only finding and
stops the pipeline: nothing else can be read. Otherwise (c) to (e) run even when (b) fails,
so the supplier sees everything to fix in one answer.

Safe to call from several threads at once: Temporal runs it as a sync activity on a
`ThreadPoolExecutor` (the `chaine-cpu` queue). Per process there is one saxonche processor,
created lazily on first use and never before a fork: saxonche crashes a process that creates
a processor after forking from a parent that had one (see ARCHITECTURE.md, "Checked on this
machine"). Stylesheets are compiled and XSDs loaded once per process; call `warm_up()` at
worker start so the first invoice does not pay for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from enum import StrEnum

from invoicing.document import InvoiceDocument, load_document
from invoicing.parsing import XmlRefused
from invoicing.validation import schematron
from invoicing.validation.report import Finding, Stage, ValidationReport
from invoicing.validation.schemas import check_schema, load_schemas

PlatformRules = Callable[[InvoiceDocument], Sequence[Finding]]


class Level(StrEnum):
    """How far to validate: EN 16931 only (stages a-c), or everything (a-e)."""

    EN16931 = "en16931"
    FULL = "full"


def validate(
    data: bytes,
    media_type: str | None = None,
    level: Level = Level.FULL,
    platform_rules: PlatformRules | None = None,
) -> tuple[ValidationReport, InvoiceDocument | None]:
    """Validate an invoice file; the document is None when stage (a) refused it."""
    try:
        document = load_document(data, media_type)
    except XmlRefused as refusal:
        refused = ValidationReport.of(None, None, [Finding.refusal(refusal.code, refusal.detail)])
        return refused, None
    return validate_document(document, level, platform_rules), document


def validate_document(
    document: InvoiceDocument,
    level: Level = Level.FULL,
    platform_rules: PlatformRules | None = None,
) -> ValidationReport:
    """Stages (b) to (e) on an invoice already read by `load_document`.

    `platform_rules` runs at level FULL even when earlier stages found faults, so it must
    cope with a schema-invalid invoice; its findings are reported as stage PLATFORM.
    """
    findings = list(check_schema(document))
    parsed = schematron.source(document)
    findings += schematron.run_business_rules(document, parsed)
    if level == Level.FULL:
        findings += schematron.run_french_rules(document, parsed)
        if platform_rules is not None:
            findings += (
                dataclasses.replace(finding, stage=Stage.PLATFORM)
                for finding in platform_rules(document)
            )
    return ValidationReport.of(document.syntax, document.profile, findings)


def warm_up() -> None:
    """Start Saxon, compile every stylesheet and load every XSD (about 5 s, once per process)."""
    load_schemas()
    schematron.compile_stylesheets()
