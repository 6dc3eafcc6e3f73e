"""Recorded histories of the main invoice paths still replay with today's workflow code.

A change to a running workflow's logic that is not behind `workflow.patched` makes these
fail. Record new histories with `CHAINE_RECORD_HISTORIES=1 pytest -k sqlite
tests/workflows/test_invoice_lifecycle.py` when a path is added.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.conftest import HISTORIES
from workers.main import SANDBOX
from workflows.bank_statement import BankStatementWorkflow
from workflows.callbacks import CallbackWorkflow
from workflows.consultation import ConsultationWorkflow
from workflows.contract import ContractWorkflow
from workflows.data_converter import DATA_CONVERTER
from workflows.flow import FlowWorkflow
from workflows.invoice import InvoiceWorkflow
from workflows.payment_run import PaymentRunWorkflow
from workflows.validation import ValidationWorkflow

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_recorded() -> None:
    assert len(RECORDED) >= 8, "record them: see this module's docstring"


def recorded_history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_a_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=[
            InvoiceWorkflow,
            FlowWorkflow,
            ValidationWorkflow,
            CallbackWorkflow,
            PaymentRunWorkflow,
            BankStatementWorkflow,
            ConsultationWorkflow,
            ContractWorkflow,
        ],
        data_converter=DATA_CONVERTER,
        workflow_runner=SandboxedWorkflowRunner(restrictions=SANDBOX),
    )
    history = recorded_history(path)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
