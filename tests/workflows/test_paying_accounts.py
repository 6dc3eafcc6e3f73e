"""Each paying service pays from its own account: one pain.001 file per account."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree
from temporalio.testing import WorkflowEnvironment

from core.config import PayingAccount
from store.database import transaction
from store.models import Commitment
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.workflows.test_payment_runs import PAIN09, accounted, run_payments

pytestmark = pytest.mark.usefixtures("workers")
PARIS_ACCOUNT = "FR7630004000031234567890143"


@pytest.fixture
def api_overrides() -> dict[str, object]:
    return {
        "payment_accounts": {
            "DRFIP75": PayingAccount(iban=PARIS_ACCOUNT, bic="BNPAFRPPXXX", name="DRFIP Paris")
        }
    }


async def test_invoices_of_a_paying_service_go_into_its_accounts_file(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    async with transaction(api.sessions) as session:
        session.add(
            Commitment(
                number="EJ-75-0001",
                buyer_siret=BUYER_SIRET,
                supplier_siret=SELLER_SIRET,
                ceiling=Decimal(100000),
                paying_service="DRFIP75",
            )
        )
    paris = await accounted(api, temporal_env, "F-2026-ACC-75", commitment="EJ-75-0001")
    await accounted(api, temporal_env, "F-2026-ACC-DEF")

    run = await run_payments(paris.accountant)
    files = {f["debtor_iban"]: f for f in run["files"]}
    assert set(files) == {PARIS_ACCOUNT, api.settings.payment_debtor_iban}
    assert {f["transactions"] for f in files.values()} == {1}
    document = etree.fromstring((await paris.accountant.get(files[PARIS_ACCOUNT]["href"])).content)
    ns = {"p": PAIN09}
    assert document.findtext(".//p:Dbtr/p:Nm", namespaces=ns) == "DRFIP Paris"
    assert document.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == PARIS_ACCOUNT
    assert document.findtext(".//p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=ns) == "BNPAFRPPXXX"
