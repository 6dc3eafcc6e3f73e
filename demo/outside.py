"""The outside world of the demo: the bank that books transfers, and a supplier's webhook
receiver. Chaîne talks to them; neither is Chaîne."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
RECEIVER_PATH = "/chaine-events"


@dataclass(frozen=True)
class Booking:
    """One transfer the bank debited: its end-to-end id, amount and booking day."""

    end_to_end_id: str
    amount: Decimal
    booked_on: date


def debit_notification(message_id: str, account_iban: str, bookings: list[Booking]) -> bytes:
    """The bank's debit notification (camt.054.001.08) of the paying account."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    entries = "".join(
        f'<Ntry><Amt Ccy="EUR">{b.amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{b.booked_on}</Dt></BookgDt>"
        f"<ValDt><Dt>{b.booked_on}</Dt></ValDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd>"
        f"<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs>"
        f"<EndToEndId>{escape(b.end_to_end_id)}</EndToEndId></Refs>"
        f'<Amt Ccy="EUR">{b.amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls></NtryDtls></Ntry>'
        for b in bookings
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{CAMT054}">'
        f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>{escape(message_id)}</MsgId>"
        f"<CreDtTm>{now}</CreDtTm></GrpHdr><Ntfctn><Id>{escape(message_id)}</Id>"
        f"<CreDtTm>{now}</CreDtTm><Acct><Id><IBAN>{account_iban}</IBAN></Id></Acct>"
        f"{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


@dataclass
class Receiver:
    """A supplier's webhook endpoint on loopback: it keeps what it is sent."""

    port: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{RECEIVER_PATH}"


@contextmanager
def receiving() -> Iterator[Receiver]:
    """Serve a receiver on a free loopback port while the block runs."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the demo prints its own progress."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
