"""PAdES B-LT verifications per second: `signatures/` against pyHanko's own validation.

One B-LT PDF is signed with the test PKI (devpki/, served on loopback only while the
file is made). Both sides then validate it offline, from the validation data it carries,
trusting the same root, requiring revocation data the same way:
- value: `signatures.verify.verify` (kind detection, limits, ETSI procedure selection,
  reading the DSS, coverage and trailing-data checks, the report);
- ceiling: pyHanko's own PDF validation, `async_validate_pdf_signature`, with a
  validation context preloaded from the file's DSS (`as_validation_context`), the same
  root, revocation data required, no fetching: what a pyHanko user writes for B-LT.
They take turns, in one thread pinned to one CPU, timed in process CPU time; the figures
are the median round's.

Run: `.venv/bin/python bench/signatures.py [--rounds N] [--per-round N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation import (  # noqa: E402
    DocumentSecurityStore,
    async_validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext  # noqa: E402

from devpki import TestPki, serve_pki, sign_pdf  # noqa: E402
from signatures.policy import VerificationPolicy, load_trust_roots  # noqa: E402
from signatures.report import Indication  # noqa: E402
from signatures.verify import verify  # noqa: E402

Runner = Callable[[bytes], Awaitable[None]]


def runners(pki: TestPki) -> dict[str, Runner]:
    roots = load_trust_roots(pki.trust_dir)
    policy = VerificationPolicy(name="bench", trust_roots=roots)

    async def chaine(data: bytes) -> None:
        report = await verify(data, policy)
        if report.indication is not Indication.TOTAL_PASSED:
            raise SystemExit(f"signatures/ did not pass the file: {report.signatures[0].messages}")

    async def pyhanko(data: bytes) -> None:
        reader = PdfFileReader(io.BytesIO(data))
        sig = reader.embedded_regular_signatures[0]
        context: ValidationContext = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": list(roots), "revocation_mode": "require", "allow_fetching": False}
        )
        status = await async_validate_pdf_signature(sig, signer_validation_context=context)
        if not (status.bottom_line and status.trusted):
            raise SystemExit(f"pyHanko did not pass the file: {status.summary()}")

    return {"signatures/": chaine, "pyHanko": pyhanko}


async def timed(runs: dict[str, Runner], data: bytes, rounds: int, per_round: int):
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for round_number in range(rounds):
        order = list(runs.items())
        if round_number % 2:
            order.reverse()
        spent = dict.fromkeys(runs, 0.0)
        for _ in range(per_round):
            for name, run in order:
                started = time.process_time()
                await run(data)
                spent[name] += time.process_time() - started
        for name, seconds in spent.items():
            rates[name].append(per_round / seconds)
    return rates


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--per-round", type=int, default=20)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # pyHanko logs each missing POE; not what is measured

    with tempfile.TemporaryDirectory() as workdir, serve_pki(Path(workdir)) as pki:
        data = await sign_pdf(pki, "signer", "B-LT")
        runs = runners(pki)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        await timed(runs, data, rounds=1, per_round=3)  # warm caches on both sides
        rates = await timed(runs, data, args.rounds, args.per_round)
    value = statistics.median(rates["signatures/"])
    ceiling = statistics.median(rates["pyHanko"])
    print(f"one PAdES B-LT file of {len(data) / 1024:.1f} KiB, validated offline from its DSS")
    print(f"{args.rounds} rounds of {args.per_round}; verifications/s on one core (median round)")
    for name, values in rates.items():
        spread = f"{min(values):.1f}-{max(values):.1f}"
        print(f"  {name:12} {statistics.median(values):7.1f}   (rounds {spread})")
    print(
        f"BENCH signatures value={value:.2f} unit=verifications/s ceiling={ceiling:.2f} "
        f"ratio={value / ceiling:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
