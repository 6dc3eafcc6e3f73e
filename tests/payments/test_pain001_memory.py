"""100,000 transfers are written and checked in bounded memory.

Measured in a fresh interpreter by its peak resident set size, libxml2's allocations
included (tracemalloc would see only Python's). `VmHWM`, not `ru_maxrss`: Linux carries
`ru_maxrss` over `fork` and `exec`, so the child would start from pytest's own peak.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import REPO_ROOT

BOUND_MIB = 80
SCRIPT = """
import json, sys
from pathlib import Path
from invoicing.payments.pain001 import validate_pain001, write_pain001
from tests.payments.builders import CREATED_AT, EXECUTION_DATE, ManyTransfers, a_debtor

def peak_mib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024

def write(path, count):
    with path.open("wb") as out:
        return write_pain001(
            out, a_debtor(), ManyTransfers(count), version="001.001.09", message_id="RUN-1",
            created_at=CREATED_AT, execution_date=EXECUTION_DATE,
        )

folder = Path(sys.argv[1])
write(folder / "warm.xml", 100)  # imports, schema compilation, first allocations
validate_pain001(folder / "warm.xml", "001.001.09")
before = peak_mib()
header = write(folder / "run.xml", 100_000)
written = peak_mib()
checked = validate_pain001(folder / "run.xml", "001.001.09")
validated = peak_mib()
print(json.dumps({
    "write_mib": written - before, "validate_mib": validated - written,
    "count": checked.number_of_transactions, "same": checked == header,
    "control_sum": str(checked.control_sum), "expected": str(ManyTransfers(100_000).total()),
    "size_mib": (folder / "run.xml").stat().st_size / 2**20,
}))
"""


@pytest.mark.slow
def test_100000_transfers_are_written_and_validated_in_bounded_memory(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert figures["count"] == 100_000 and figures["same"]
    assert figures["control_sum"] == figures["expected"]
    assert figures["size_mib"] > 30  # the document is far larger than what was held
    assert figures["write_mib"] < BOUND_MIB, figures
    assert figures["validate_mib"] < BOUND_MIB, figures
