"""What validating an invoice found: findings, each tied to a rule and a stage, and a verdict.

The verdict is derived, never set by hand: an invoice is valid when no finding is fatal.
Warnings are reported to the supplier but never block an invoice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import ErrorCode
from invoicing.syntax import Syntax


class Severity(StrEnum):
    """Whether a finding blocks the invoice (fatal) or is only reported (warning)."""

    FATAL = "fatal"
    WARNING = "warning"


class Stage(StrEnum):
    """The stage of validation that produced a finding, in the order they run."""

    WELL_FORMED = "WELL_FORMED"  # hardened parsing, PDF extraction, syntax detection
    XSD = "XSD"  # the XML Schema of the syntax and profile
    EN16931 = "EN16931"  # EN 16931 business rules (official schematron, as XSLT)
    BR_FR = "BR_FR"  # French rules of the 2026 reform (BR-FR Flux 2 schematron)
    PLATFORM = "PLATFORM"  # this platform's own rules (recipient structure, commitment...)


@dataclass(frozen=True)
class Finding:
    """One rule an invoice breaks (or is warned about), where, and in the rule's own words."""

    rule: str  # "BR-CO-15", "BR-FR-05_BT-22-1", "XSD", or an error code such as "XML_TOO_DEEP"
    severity: Severity
    location: str | None  # XPath of the offending node, when the rule gives one
    message: str
    stage: Stage

    @classmethod
    def refusal(cls, code: ErrorCode, message: str) -> Finding:
        """The single fatal finding for a file refused before any rule could run."""
        return cls(code.value, Severity.FATAL, None, message, Stage.WELL_FORMED)

    def to_json(self) -> dict[str, Any]:
        """The finding as the API shows it."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "location": self.location,
            "message": self.message,
            "stage": self.stage.value,
        }


@dataclass(frozen=True)
class ValidationReport:
    """Every finding on one invoice, with the syntax and profile it was validated as."""

    valid: bool
    syntax: Syntax | None  # None when the file was refused before its syntax was known
    profile: str | None
    findings: tuple[Finding, ...]

    @classmethod
    def of(
        cls, syntax: Syntax | None, profile: str | None, findings: Iterable[Finding]
    ) -> ValidationReport:
        """A report whose verdict follows from its findings: valid when none is fatal."""
        found = tuple(findings)
        valid = not any(finding.severity is Severity.FATAL for finding in found)
        return cls(valid=valid, syntax=syntax, profile=profile, findings=found)

    def fatal_rules(self) -> frozenset[str]:
        """The rules that make the invoice invalid."""
        return frozenset(f.rule for f in self.findings if f.severity is Severity.FATAL)

    def to_json(self) -> dict[str, Any]:
        """The report as the API shows it (a JSON-ready dict)."""
        return {
            "valid": self.valid,
            "syntax": self.syntax.value if self.syntax is not None else None,
            "profile": self.profile,
            "findings": [finding.to_json() for finding in self.findings],
        }
