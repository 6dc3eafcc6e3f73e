"""`chaine payments run` and `chaine payments statement` against the running API."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from store.models import Payment
from tests.cli.test_edi_and_flows import chaine
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET
from tests.workflows.test_payment_runs import accounted, camt054, wait_for

pytestmark = pytest.mark.usefixtures("workers")


async def test_an_accountant_runs_payments_and_sends_the_bank_statement_from_the_cli(
    api: ApiServer, temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    parties = await accounted(api, temporal_env, "F-2026-CLI-PAY")
    client_id, secret = await api.credentials(Role.ACCOUNTANT, BUYER_SIRET)
    env = {**os.environ, "CHAINE_CLIENT_ID": client_id, "CHAINE_CLIENT_SECRET": secret}

    ran = await chaine(env, "payments", "run", "--api", api.url)
    assert ran.returncode == 0, ran.stderr
    assert "INVOICE" in ran.stdout and "1440.00" in ran.stdout
    assert "/files/" in ran.stdout
    await wait_for(parties, "MISE_EN_PAIEMENT")

    async with api.sessions() as session:
        payment = await session.scalar(select(Payment))
    statement = tmp_path / "camt054.xml"
    statement.write_bytes(camt054([(payment.end_to_end_id, Decimal("1440.00"), date.today())]))
    sent = await chaine(env, "payments", "statement", str(statement), "--api", api.url)
    assert sent.returncode == 0, sent.stderr
    assert "camt.054" in sent.stdout
    await wait_for(parties, "PAYEE")
    again = await chaine(env, "payments", "statement", str(statement), "--api", api.url)
    assert "already received" in again.stdout

    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"<Document xmlns='urn:nothing'/>")
    refused = await chaine(env, "payments", "statement", str(garbage), "--api", api.url)
    assert refused.returncode != 0
    assert "BANK_FILE_UNKNOWN" in refused.stderr or "bank file refused" in refused.stderr
