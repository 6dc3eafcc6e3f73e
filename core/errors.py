"""Stable error codes and the exception every Chaîne refusal is raised as.

A code is part of the public contract (problem+json `code`, CLI messages): it is defined
here once, never renamed, and listed in the README.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Every error code Chaîne answers with."""

    # Settings and start-up
    SETTINGS_INVALID = "SETTINGS_INVALID"
    PORT_IN_USE = "PORT_IN_USE"
    # HTTP conventions
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # Authentication and authorisation
    AUTH_REQUIRED = "AUTH_REQUIRED"
    AUTH_INVALID_TOKEN = "AUTH_INVALID_TOKEN"
    AUTH_INVALID_CLIENT = "AUTH_INVALID_CLIENT"
    AUTH_UNSUPPORTED_GRANT = "AUTH_UNSUPPORTED_GRANT"
    FORBIDDEN_ROLE = "FORBIDDEN_ROLE"
    # Directory
    SIRET_INVALID = "SIRET_INVALID"
    SIREN_INVALID = "SIREN_INVALID"
    IBAN_INVALID = "IBAN_INVALID"
    BIC_INVALID = "BIC_INVALID"
    EMAIL_INVALID = "EMAIL_INVALID"
    CATEGORY_UNKNOWN = "CATEGORY_UNKNOWN"
    IDENTIFIER_SCHEME_UNKNOWN = "IDENTIFIER_SCHEME_UNKNOWN"
    IDENTIFIER_INVALID = "IDENTIFIER_INVALID"
    CSV_MALFORMED = "CSV_MALFORMED"
    CSV_COLUMNS_MISSING = "CSV_COLUMNS_MISSING"
    STRUCTURE_NOT_FOUND = "STRUCTURE_NOT_FOUND"
    SUPPLIER_NOT_FOUND = "SUPPLIER_NOT_FOUND"
    CSV_VALUE_MISSING = "CSV_VALUE_MISSING"
    CSV_VALUE_INVALID = "CSV_VALUE_INVALID"
    CSV_LINE_CONFLICT = "CSV_LINE_CONFLICT"
    # Invoice intake: input hardening
    XML_NOT_WELL_FORMED = "XML_NOT_WELL_FORMED"
    XML_DOCTYPE_FORBIDDEN = "XML_DOCTYPE_FORBIDDEN"
    XML_TOO_LARGE = "XML_TOO_LARGE"
    XML_TOO_DEEP = "XML_TOO_DEEP"
    INVOICE_SYNTAX_UNKNOWN = "INVOICE_SYNTAX_UNKNOWN"
    PDF_INVALID = "PDF_INVALID"
    PDF_TOO_LARGE = "PDF_TOO_LARGE"
    PDF_NO_INVOICE_XML = "PDF_NO_INVOICE_XML"
    PDF_SEVERAL_INVOICE_XML = "PDF_SEVERAL_INVOICE_XML"
    BODY_ENCODING_UNSUPPORTED = "BODY_ENCODING_UNSUPPORTED"
    BODY_INFLATED_TOO_LARGE = "BODY_INFLATED_TOO_LARGE"
    # Invoice intake: deposit
    INVOICE_INVALID = "INVOICE_INVALID"
    INVOICE_CONFLICT = "INVOICE_CONFLICT"
    INVOICE_NOT_FOUND = "INVOICE_NOT_FOUND"
    INVOICE_SELLER_NOT_YOURS = "INVOICE_SELLER_NOT_YOURS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    # Bulk flows
    FLOW_NOT_FOUND = "FLOW_NOT_FOUND"
    FLOW_ARCHIVE_INVALID = "FLOW_ARCHIVE_INVALID"
    FLOW_ENTRY_UNSAFE_NAME = "FLOW_ENTRY_UNSAFE_NAME"
    FLOW_ENTRY_NESTED_ARCHIVE = "FLOW_ENTRY_NESTED_ARCHIVE"
    FLOW_ENTRY_TOO_LARGE = "FLOW_ENTRY_TOO_LARGE"
    FLOW_ENTRY_NOT_AN_INVOICE = "FLOW_ENTRY_NOT_AN_INVOICE"
    FLOW_TOO_MANY_ENTRIES = "FLOW_TOO_MANY_ENTRIES"
    # Blobs
    BLOB_TOO_LARGE = "BLOB_TOO_LARGE"
    BLOB_NOT_FOUND = "BLOB_NOT_FOUND"
    BLOB_CORRUPTED = "BLOB_CORRUPTED"
    # Invoice validation
    INVOICE_RULES_NOT_EVALUATED = "INVOICE_RULES_NOT_EVALUATED"
    # Invoice formats
    INVOICE_UNREADABLE = "INVOICE_UNREADABLE"
    # Invoice lifecycle
    INVOICE_TRANSITION_REFUSED = "INVOICE_TRANSITION_REFUSED"
    INVOICE_REROUTE_REFUSED = "INVOICE_REROUTE_REFUSED"
    INVOICE_REASON_REQUIRED = "INVOICE_REASON_REQUIRED"
    INVOICE_REASON_UNKNOWN = "INVOICE_REASON_UNKNOWN"
    PAYMENT_DEADLINE_NOT_INTERRUPTIBLE = "PAYMENT_DEADLINE_NOT_INTERRUPTIBLE"
    # Outbound requests
    OUTBOUND_URL_REFUSED = "OUTBOUND_URL_REFUSED"
    # Signatures
    SIGNATURE_INPUT_INVALID = "SIGNATURE_INPUT_INVALID"
    SIGNATURE_NOT_FOUND = "SIGNATURE_NOT_FOUND"
    SIGNATURE_SIGNED_FILE_MISSING = "SIGNATURE_SIGNED_FILE_MISSING"
    SEAL_UNAVAILABLE = "SEAL_UNAVAILABLE"
    # Status callbacks (webhooks) and notifications
    WEBHOOK_NOT_FOUND = "WEBHOOK_NOT_FOUND"
    WEBHOOK_LIMIT_REACHED = "WEBHOOK_LIMIT_REACHED"
    WEBHOOK_SIRET_NOT_YOURS = "WEBHOOK_SIRET_NOT_YOURS"
    WEBHOOK_DELIVERY_NOT_FOUND = "WEBHOOK_DELIVERY_NOT_FOUND"
    WEBHOOK_REDELIVERY_REFUSED = "WEBHOOK_REDELIVERY_REFUSED"
    EVENT_TYPE_UNKNOWN = "EVENT_TYPE_UNKNOWN"
    NOTIFICATION_NOT_FOUND = "NOTIFICATION_NOT_FOUND"
    # Message threads
    THREAD_NOT_FOUND = "THREAD_NOT_FOUND"
    THREAD_MESSAGE_INVALID = "THREAD_MESSAGE_INVALID"
    THREAD_ATTACHMENT_NOT_FOUND = "THREAD_ATTACHMENT_NOT_FOUND"
    # Payments: pain.001 credit transfer files, bank returns (camt.053, camt.054, pain.002)
    PAYMENT_INPUT_INVALID = "PAYMENT_INPUT_INVALID"
    PAYMENT_FILE_INVALID = "PAYMENT_FILE_INVALID"
    BANK_FILE_UNKNOWN = "BANK_FILE_UNKNOWN"
    BANK_FILE_INVALID = "BANK_FILE_INVALID"
    # Operator tools
    WORKFLOW_NOT_FOUND = "WORKFLOW_NOT_FOUND"
    OPS_REASON_REQUIRED = "OPS_REASON_REQUIRED"
    OPS_ACTION_REFUSED = "OPS_ACTION_REFUSED"
    OPS_QUERY_INVALID = "OPS_QUERY_INVALID"


class ChaineError(Exception):
    """A refusal with a stable code, an HTTP status and a sentence for people.

    Subclasses fix `code` and `status`; `extra` carries machine-readable details
    (problem+json extension members).
    """

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_ERROR
    status: ClassVar[int] = 500
    challenge: ClassVar[str] = 'Bearer realm="chaine"'  # WWW-Authenticate when status is 401
    retry_after: ClassVar[int | None] = None  # Retry-After seconds, for 429 and 503

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unavailable(ChaineError):
    """A service Chaîne depends on does not answer; the request may be retried."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503
    retry_after = 5


class NotFound(ChaineError):
    """The resource does not exist, or the caller may not know it exists."""

    code = ErrorCode.NOT_FOUND
    status = 404


class InvalidInput(ChaineError):
    """A value was refused; subclasses or callers give the precise code."""

    status = 422

    def __init__(self, code: ErrorCode, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.code = code  # type: ignore[misc]  # per-instance code for field-level refusals
