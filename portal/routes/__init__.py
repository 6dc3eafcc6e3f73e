"""The portal's pages, one module per area."""

from __future__ import annotations

from portal.routes import (
    accountant,
    auth,
    buyer,
    consultations_buyer,
    consultations_supplier,
    messages,
    operator,
    supplier,
)

ROUTERS = [
    auth.router,
    supplier.router,
    buyer.router,
    accountant.router,
    consultations_supplier.router,
    consultations_buyer.router,
    messages.router,
    operator.router,
]
