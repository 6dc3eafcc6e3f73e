"""Rendering pages: the Jinja2 environment, its filters, and `render` with what every page
needs (visitor, language, CSRF token, flash, navigation)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup

from core.principals import Role
from invoicing.statuses import InvoiceStatus
from portal.accounts import Visitor
from portal.i18n import N_, translator

PARIS = ZoneInfo("Europe/Paris")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
env = templates.env
env.autoescape = True

# Statuses as people say them (French source, English in locales/en/common.json).
STATUS_LABELS: dict[str, str] = {
    InvoiceStatus.DEPOSEE: N_("Déposée"),
    InvoiceStatus.EN_COURS_ACHEMINEMENT: N_("En cours d'acheminement"),
    InvoiceStatus.MISE_A_DISPOSITION: N_("Mise à disposition"),
    InvoiceStatus.MISE_A_DISPOSITION_PREMIER_VALIDEUR: N_("Chez le maître d'œuvre"),
    InvoiceStatus.VALIDEE_PREMIER_VALIDEUR: N_("Validée par le maître d'œuvre"),
    InvoiceStatus.REFUSEE_PREMIER_VALIDEUR: N_("Refusée par le maître d'œuvre"),
    InvoiceStatus.PRISE_EN_COMPTE: N_("Prise en compte"),
    InvoiceStatus.SUSPENDUE: N_("Suspendue"),
    InvoiceStatus.COMPLETEE: N_("Complétée"),
    InvoiceStatus.A_RECYCLER: N_("À recycler"),
    InvoiceStatus.REJETEE: N_("Rejetée"),
    InvoiceStatus.ANNULEE: N_("Annulée"),
    InvoiceStatus.SERVICE_FAIT: N_("Service fait"),
    InvoiceStatus.MANDATEE: N_("Mandatée"),
    InvoiceStatus.MISE_A_DISPOSITION_COMPTABLE: N_("Chez le comptable"),
    InvoiceStatus.COMPTABILISEE: N_("Comptabilisée"),
    InvoiceStatus.MISE_EN_PAIEMENT: N_("Mise en paiement"),
    InvoiceStatus.PAYEE: N_("Payée"),
}

ROLE_LABELS: dict[str, str] = {
    Role.SUPPLIER: N_("Fournisseur"),
    Role.BUYER: N_("Acheteur"),
    Role.MOE: N_("Maître d'œuvre"),
    Role.ACCOUNTANT: N_("Comptable"),
    Role.OPS: N_("Opérateur"),
}

ROLE_HOMES: dict[Role, str] = {
    Role.SUPPLIER: "/supplier",
    Role.BUYER: "/buyer",
    Role.MOE: "/buyer",
    Role.ACCOUNTANT: "/accountant",
    Role.OPS: "/operator",
}

# Navigation of each role: (French label, path).
NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.SUPPLIER: [
        (N_("Tableau de bord"), "/supplier"),
        (N_("Mes factures"), "/supplier/invoices"),
        (N_("Déposer une facture"), "/supplier/invoices/new"),
        (N_("Consultations"), "/supplier/consultations"),
        (N_("Messages"), "/messages"),
        (N_("Webhooks"), "/supplier/webhooks"),
    ],
    Role.BUYER: [
        (N_("Factures reçues"), "/buyer"),
        (N_("Rejets"), "/buyer/rejections"),
        (N_("Consultations"), "/buyer/consultations"),
        (N_("Messages"), "/messages"),
    ],
    Role.MOE: [(N_("Factures reçues"), "/buyer"), (N_("Messages"), "/messages")],
    Role.ACCOUNTANT: [
        (N_("Contrôle"), "/accountant"),
        (N_("Paiements"), "/accountant/payment-runs"),
        (N_("Relevés bancaires"), "/accountant/bank-statements"),
        (N_("Messages"), "/messages"),
    ],
    Role.OPS: [
        (N_("Workflows bloqués"), "/operator"),
        (N_("Journal d'audit"), "/operator/audit"),
        (N_("Tableaux"), "/operator/charts"),
    ],
}


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def decimal_text(value: str) -> str:
    """An amount as typed in France (`98 000,50`, any kind of space) in the API's notation
    (`98000.50`); the API checks the number itself."""
    return "".join(value.split()).replace(",", ".")  # split() takes no-break spaces too


@pass_context
def money(context: Any, value: Any, currency: str = "EUR") -> str:
    """An amount as people read it: `1 234,56 €` in French, `€1,234.56` in English."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    symbol = "€" if currency == "EUR" else currency
    if context.get("lang") == "en":
        return f"{symbol}{amount:,.2f}" if symbol == "€" else f"{amount:,.2f} {symbol}"
    text = f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0{symbol}"


def _parsed(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if not value:
        return None
    text = str(value)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def when(value: Any) -> str:
    """A moment in Paris time, `07/12/2026 17:05`."""
    moment = _parsed(value)
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(PARIS)
        return moment.strftime("%d/%m/%Y %H:%M")
    return moment.strftime("%d/%m/%Y") if moment else "—"


def day(value: Any) -> str:
    """A date, `07/12/2026` (a moment is taken in Paris time)."""
    moment = _parsed(value)
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(PARIS)
    return moment.strftime("%d/%m/%Y") if moment else "—"


@pass_context
def status_label(context: Any, status: Any) -> Markup:
    """An invoice status as a badge, in words, with the code for those who know it."""
    code = str(status or "")
    label = context["_"](STATUS_LABELS.get(code, code))
    return Markup('<span class="status status-{}" title="{}">{}</span>').format(
        code.lower(), code, label
    )


env.filters.update(money=money, when=when, day=day, status=status_label)


# Pages run only our own files: no inline script or style, no framing, no foreign forms.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def render(
    request: Request,
    template: str,
    visitor: Visitor | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page for this visitor in their language."""
    lang = request.state.language if hasattr(request.state, "language") else "fr"
    role = visitor.principal.role if visitor else None
    return templates.TemplateResponse(
        request,
        template,
        {
            "visitor": visitor,
            "lang": lang,
            "_": translator(lang),
            "csrf_token": visitor.csrf_token
            if visitor
            else getattr(request.state, "login_csrf", ""),
            "flash": getattr(request.state, "flash", None),
            "navigation": NAVIGATION.get(role, []) if role else [],
            "path": request.url.path,
            "role_labels": ROLE_LABELS,
            "home": ROLE_HOMES.get(role, "/") if role else "/",
            **context,
        },
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )
