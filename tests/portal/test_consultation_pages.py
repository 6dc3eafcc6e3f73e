"""Consultation pages over plain HTTP: suppliers find, ask, follow and bid; buyers create,
publish and take a consultation to its contract; the API's refusals show with their codes."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from asn1crypto import cms
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from devpki import TestPki, default_pdf, sign_pdf
from directory.identifiers import IdentifierScheme
from directory.records import SupplierRecord
from store.database import transaction
from store.directory import DirectoryRepository
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.portal.conftest import Site, csrf_of
from tests.procurement.test_consultation_workflow import OTHER_SIRET, THIRD_SIRET, Tender

PARIS = ZoneInfo("Europe/Paris")
SEARCH = "/supplier/consultations"


@pytest.fixture
def api_overrides(test_pki: TestPki) -> dict[str, object]:
    return {"signature_trust_dir": test_pki.trust_dir}


async def signed_in(site: Site, role: Role, *sirets: str) -> tuple[httpx.AsyncClient, str]:
    """A person's session and the CSRF token of its forms."""
    client = await site.signed_in(await site.person(role, *sirets))
    home = "/buyer/consultations" if role is Role.BUYER else SEARCH
    return client, await csrf_of(client, home)


def page_of(tender: Tender, side: str = "supplier") -> str:
    return f"/{side}/consultations/{BUYER_SIRET}/{tender.reference}"


def text_of(response: httpx.Response) -> str:
    """The page's text with entities decoded, to look for what a person reads."""
    return html.unescape(response.text)


def local(moment: datetime) -> str:
    """A `datetime-local` value in Paris time."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def creation_form(reference: str, days: int = 35, **changes: str) -> dict[str, str]:
    """The fields a buyer fills in to create a consultation."""
    now = datetime.now(UTC)
    fields = {
        "buyer_siret": BUYER_SIRET,
        "buyer_name": "Ministère des tests",
        "reference": reference,
        "title": "Entretien des espaces verts",
        "description": "Tonte et taille.",
        "procedure": "open",
        "cpv_codes": "77310000-6",
        "place_of_performance": "FR101",
        "lots-0-title": "",
        "lots-0-estimated_value": "",
        "lots-0-cpv_codes": "",
        "lots-1-title": "Parcs",
        "lots-1-estimated_value": "120 000,00",
        "lots-1-cpv_codes": "",
        "criteria-0-name": "Prix",
        "criteria-0-weight": "60",
        "criteria-0-kind": "price",
        "criteria-1-name": "Valeur technique",
        "criteria-1-weight": "40",
        "criteria-1-kind": "quality",
        "questions_deadline": local(now + timedelta(days=days - 10)),
        "submission_deadline": local(now + timedelta(days=days)),
        "contact-name": "Service achats",
        "contact-email": "achats@ministere.example",
        "contact-phone": "",
        "buyer_address-street": "1 place de l'Hôtel de Ville",
        "buyer_address-postal_code": "75004",
        "buyer_address-city": "Paris",
        "buyer_address-nuts": "FR101",
        "buyer_legal_type": "cga",
        "review_body-name": "Tribunal administratif de Paris",
        "review_body-siret": "17750111100005",
        "review_body-address-street": "7 rue de Jouy",
        "review_body-address-postal_code": "75004",
        "review_body-address-city": "Paris",
        "review_body-address-nuts": "FR101",
    }
    return {**fields, **changes}


# --- suppliers -----------------------------------------------------------------------------


async def test_a_supplier_finds_a_published_consultation_by_cpv_and_text(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    supplier, _ = await signed_in(site, Role.SUPPLIER, SELLER_SIRET)

    found = await supplier.get(SEARCH, params={"cpv": "7731", "q": "espaces"})
    assert found.status_code == 200
    assert tender.reference in found.text
    assert f'href="{page_of(tender)}"' in found.text
    assert "Ouverte aux offres" in found.text
    nothing = await supplier.get(SEARCH, params={"cpv": "4500"})
    assert tender.reference not in nothing.text
    assert "Aucune consultation ne correspond" in text_of(nothing)
    later = (datetime.now(PARIS) + timedelta(days=40)).date().isoformat()
    assert (
        tender.reference not in (await supplier.get(SEARCH, params={"deadline_after": later})).text
    )

    english = await supplier.get(f"/lang/en?next={SEARCH}", follow_redirects=True)
    assert "Find a tender" in english.text and "Open for bids" in english.text
    refused = await supplier.get(SEARCH, params={"cpv": "abc"})
    assert refused.status_code == 422
    assert "VALIDATION_FAILED" in refused.text
    assert 'id="cpv-error"' in refused.text


async def test_a_supplier_reads_downloads_asks_and_follows(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    supplier, token = await signed_in(site, Role.SUPPLIER, SELLER_SIRET)

    page = await supplier.get(page_of(tender))
    assert page.status_code == 200
    text = text_of(page)
    assert "Parcs" in text and "Valeur technique" in text and "60 %" in text
    assert "120\u202f000,00\u00a0€" in text
    document_id = re.search(r'href="[^"]+/documents/(\d+)" download>reglement.pdf', page.text)[1]
    download = await supplier.get(f"{page_of(tender)}/documents/{document_id}")
    assert download.status_code == 200
    assert download.content == default_pdf()
    assert "attachment" in download.headers["content-disposition"]

    no_token = await supplier.post(f"{page_of(tender)}/questions", data={"question": "?"})
    assert no_token.status_code == 403 and "CSRF_FAILED" in no_token.text
    asked = await supplier.post(
        f"{page_of(tender)}/questions",
        data={"csrf_token": token, "question": "Quelle surface ?"},
    )
    assert asked.status_code == 303
    assert "Question envoyée" in text_of(await supplier.get(asked.headers["location"]))
    questions = (await tender.buyer.get(f"{tender.base}/questions")).json()
    assert [(q["supplier_siret"], q["question"]) for q in questions] == [
        (SELLER_SIRET, "Quelle surface ?")
    ]

    followed = await supplier.post(f"{page_of(tender)}/interest", data={"csrf_token": token})
    assert followed.status_code == 303
    assert "Vous suivez cette consultation" in (await supplier.get(page_of(tender))).text


async def test_a_supplier_bids_gets_its_sealed_receipt_replaces_and_withdraws(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    supplier, token = await signed_in(site, Role.SUPPLIER, SELLER_SIRET)
    offer = b"%PDF-1.4 notre offre"

    empty = await supplier.post(f"{page_of(tender)}/bids", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "VALIDATION_FAILED" in empty.text and "at least one file" in empty.text

    sent = await supplier.post(
        f"{page_of(tender)}/bids",
        data={"csrf_token": token},
        files=[("files", ("offre.pdf", offer, "application/pdf"))],
    )
    assert sent.status_code == 201, sent.text
    assert hashlib.sha256(offer).hexdigest() in sent.text
    bid_id = re.search(r"<code data-bid-id>([^<]+)</code>", sent.text)[1]
    receipt = re.search(r'href="data:application/json;base64,([^"]+)"', sent.text)[1]
    assert f'"bid_id":"{bid_id}"' in base64.b64decode(receipt).decode()
    seal = re.search(r'href="data:application/pkcs7-signature;base64,([^"]+)"', sent.text)[1]
    assert cms.ContentInfo.load(base64.b64decode(seal))["content_type"].native == "signed_data"

    page = text_of(await supplier.get(page_of(tender)))
    assert bid_id in page and "Remplacer mon offre" in page
    replaced = await supplier.post(
        f"{page_of(tender)}/bids",
        data={"csrf_token": token},
        files=[("files", ("offre-v2.pdf", default_pdf(), "application/pdf"))],
    )
    assert replaced.status_code == 201
    assert re.search(r"<dt>Version</dt><dd>2</dd>", replaced.text)

    withdrawn = await supplier.post(f"{page_of(tender)}/withdrawal", data={"csrf_token": token})
    assert withdrawn.status_code == 303
    page = text_of(await supplier.get(page_of(tender)))
    assert "Votre offre est retirée" in page
    assert "Vous n'avez pas d'offre en cours" in page
    again = await supplier.post(f"{page_of(tender)}/withdrawal", data={"csrf_token": token})
    assert again.status_code == 404 and "BID_NOT_FOUND" in again.text


async def test_a_supplier_of_two_sirets_bids_for_the_one_it_chooses(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    group, token = await signed_in(site, Role.SUPPLIER, SELLER_SIRET, OTHER_SIRET)
    page = await group.get(page_of(tender), params={"siret": OTHER_SIRET})
    assert f'<option value="{OTHER_SIRET}" selected>' in page.text
    sent = await group.post(
        f"{page_of(tender)}/bids",
        data={"csrf_token": token, "supplier_siret": OTHER_SIRET},
        files=[("files", ("offre.pdf", default_pdf(), "application/pdf"))],
    )
    assert sent.status_code == 201, sent.text
    assert f"<dd>{OTHER_SIRET}</dd>" in sent.text
    other = text_of(await group.get(page_of(tender), params={"siret": SELLER_SIRET}))
    assert "Vous n'avez pas d'offre en cours" in other
    mine = text_of(await group.get(page_of(tender), params={"siret": OTHER_SIRET}))
    assert "Remplacer mon offre" in mine


async def test_a_bid_after_the_deadline_is_refused_with_its_code(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    supplier, token = await signed_in(site, Role.SUPPLIER, SELLER_SIRET)
    await tender.skip(timedelta(days=36))
    late = await supplier.post(
        f"{page_of(tender)}/bids",
        data={"csrf_token": token},
        files=[("files", ("offre.pdf", default_pdf(), "application/pdf"))],
    )
    assert late.status_code == 409
    assert "BID_LATE" in late.text
    page = (await supplier.get(page_of(tender))).text
    assert "Clôturée, offres scellées" in page
    assert 'action="' + page_of(tender) + '/bids"' not in page  # no bid form any more


async def test_the_simplified_dume_downloads_or_says_why_not(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    async with transaction(site.api.sessions) as session:
        await DirectoryRepository(session).upsert_suppliers(
            [SupplierRecord(IdentifierScheme.SIRET, SELLER_SIRET, "Jardins Durables SARL")]
        )
    tender = await Tender(site.api, temporal_env).start(espd_required=True)
    known, _ = await signed_in(site, Role.SUPPLIER, SELLER_SIRET)
    dume = await known.get(f"{page_of(tender)}/dume")
    assert dume.status_code == 200
    assert dume.headers["content-type"].startswith("application/xml")
    assert SELLER_SIRET.encode() in dume.content

    unknown, _ = await signed_in(site, Role.SUPPLIER, THIRD_SIRET)
    refused = await unknown.get(f"{page_of(tender)}/dume")
    assert refused.status_code == 422
    assert "SUPPLIER_NOT_FOUND" in refused.text
    assert "<h1>Entretien des espaces verts</h1>" in refused.text  # on the consultation page


async def test_consultation_pages_are_for_their_role_and_their_buyer(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    supplier, _ = await signed_in(site, Role.SUPPLIER, SELLER_SIRET)
    refused = await supplier.get(page_of(tender, "buyer"))
    assert refused.status_code == 403 and "FORBIDDEN_ROLE" in refused.text
    stranger, _ = await signed_in(site, Role.BUYER, THIRD_SIRET)
    hidden = await stranger.get(page_of(tender, "buyer"))
    assert hidden.status_code == 404 and "CONSULTATION_NOT_FOUND" in hidden.text
    missing = await supplier.get(f"{SEARCH}/{BUYER_SIRET}/NO-SUCH-REF")
    assert missing.status_code == 404 and "CONSULTATION_NOT_FOUND" in missing.text


# --- buyers --------------------------------------------------------------------------------


async def test_a_buyer_creates_and_publishes_a_consultation_with_refusals_beside_the_fields(
    site: Site,
) -> None:
    buyer, token = await signed_in(site, Role.BUYER, BUYER_SIRET)
    form = await buyer.get("/buyer/consultations/new")
    assert form.status_code == 200
    assert 'value="Ministère des tests"' in text_of(form)  # the directory's name

    reference = f"AO-PORTAIL-{uuid.uuid4().hex[:6]}"
    bad = creation_form(reference, **{"contact-email": "pas un courriel", "lots-1-title": ""})
    bad["lots-1-estimated_value"] = "beaucoup"
    refused = await buyer.post("/buyer/consultations", data={"csrf_token": token, **bad})
    assert refused.status_code == 422
    assert "VALIDATION_FAILED" in refused.text
    assert 'id="contact-email" name="contact-email" type="email" value="pas un courriel"' in (
        refused.text
    )
    assert 'id="contact-email-error"' in refused.text
    assert 'id="lots-1-estimated_value-error"' in refused.text  # the row it was typed in

    created = await buyer.post(
        "/buyer/consultations", data={"csrf_token": token, **creation_form(reference)}
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == f"/buyer/consultations/{BUYER_SIRET}/{reference}"
    draft = text_of(await buyer.get(created.headers["location"]))
    assert "Brouillon créé" in draft and "Publier la consultation" in draft
    assert "Ouvrir les offres" not in draft
    exists = await buyer.post(
        "/buyer/consultations", data={"csrf_token": token, **creation_form(reference)}
    )
    assert exists.status_code == 409 and "CONSULTATION_EXISTS" in exists.text

    published = await buyer.post(
        f"{created.headers['location']}/publish",
        data={"csrf_token": token},
        files=[("documents", ("reglement.pdf", default_pdf(), "application/pdf"))],
    )
    assert published.status_code == 303, published.text
    page = text_of(await buyer.get(created.headers["location"]))
    assert "Consultation publiée" in page and "Ouverte aux offres" in page
    assert "reglement.pdf" in page and "Avis de marché (eForms)" in page
    assert "Modifier le dossier" in page and "Publier la consultation" not in page
    listed = text_of(await buyer.get("/buyer/consultations"))
    assert reference in listed and "Entretien des espaces verts" in listed
    opened = await buyer.get(
        "/buyer/consultations/open", params={"buyer_siret": BUYER_SIRET, "reference": reference}
    )
    assert opened.headers["location"] == created.headers["location"]


async def test_publication_refusals_list_each_broken_rule(site: Site) -> None:
    buyer, token = await signed_in(site, Role.BUYER, BUYER_SIRET)
    reference = f"AO-COURT-{uuid.uuid4().hex[:6]}"
    short = creation_form(reference, days=10, **{"criteria-0-kind": "quality"})
    created = await buyer.post("/buyer/consultations", data={"csrf_token": token, **short})
    assert created.status_code == 303, created.text
    refused = await buyer.post(f"{created.headers['location']}/publish", data={"csrf_token": token})
    assert refused.status_code == 422
    text = text_of(refused)
    assert "CONSULTATION_INVALID" in text
    assert "<strong>Critères d'attribution</strong> : price or cost is one of the criteria" in text
    assert "<strong>Date limite de remise des offres</strong>" in text


async def test_a_buyer_answers_amends_and_cancels_with_a_reason(
    site: Site, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    buyer, token = await signed_in(site, Role.BUYER, BUYER_SIRET)
    asked = await tender.a.post(f"{tender.base}/questions", json={"question": "Surface ?"})
    question_id = asked.json()["id"]

    page = text_of(await buyer.get(page_of(tender, "buyer")))
    assert "Surface ?" in page and SELLER_SIRET in page
    answered = await buyer.post(
        f"{page_of(tender, 'buyer')}/questions/{question_id}/answer",
        data={"csrf_token": token, "answer": "12 hectares."},
    )
    assert answered.status_code == 303
    supplier, _ = await signed_in(site, Role.SUPPLIER, OTHER_SIRET)
    assert "12 hectares." in (await supplier.get(page_of(tender))).text

    amended = await buyer.post(
        f"{page_of(tender, 'buyer')}/amendments",
        data={"csrf_token": token, "comment": "CCTP v2"},
        files=[("documents", ("cctp-v2.pdf", default_pdf(), "application/pdf"))],
    )
    assert amended.status_code == 303, amended.text
    assert "cctp-v2.pdf" in (await buyer.get(page_of(tender, "buyer"))).text

    blank = await buyer.post(
        f"{page_of(tender, 'buyer')}/cancellation", data={"csrf_token": token, "reason": ""}
    )
    assert blank.status_code == 422 and "VALIDATION_FAILED" in blank.text
    cancelled = await buyer.post(
        f"{page_of(tender, 'buyer')}/cancellation",
        data={"csrf_token": token, "reason": "Besoin disparu"},
    )
    assert cancelled.status_code == 303
    page = text_of(await buyer.get(page_of(tender, "buyer")))
    assert "Sans suite" in page and "Besoin disparu" in page
    assert 'data-open-dialog="cancel-dialog"' not in page  # no step is left
    finished = await buyer.post(f"{page_of(tender, 'buyer')}/opening", data={"csrf_token": token})
    assert finished.status_code == 409 and "CONSULTATION_STEP_REFUSED" in finished.text


async def test_a_buyer_opens_scores_awards_then_signs_and_notifies_after_the_standstill(
    site: Site, temporal_env: WorkflowEnvironment, test_pki: TestPki
) -> None:
    tender = await Tender(site.api, temporal_env).start()
    signed_offer = await sign_pdf(test_pki, "signer", "B-LT")
    assert (await tender.bid(tender.a, ("offre.pdf", signed_offer))).status_code == 201
    assert (await tender.bid(tender.b, ("offre.pdf", default_pdf()))).status_code == 201
    buyer, token = await signed_in(site, Role.BUYER, BUYER_SIRET)
    page_url = page_of(tender, "buyer")

    sealed = text_of(await buyer.get(page_url))
    assert "Ouvrir les offres" not in sealed and "offre.pdf" not in sealed
    await tender.skip(timedelta(days=36))
    assert (await buyer.post(f"{page_url}/opening", data={"csrf_token": token})).status_code == 303
    page = await buyer.get(page_url)
    bids = {b["supplier_siret"]: b for b in (await tender.buyer.get(f"{tender.base}/bids")).json()}
    winner, loser = bids[SELLER_SIRET]["bid_id"], bids[OTHER_SIRET]["bid_id"]
    sha = bids[SELLER_SIRET]["files"][0]["sha256"]
    assert f"{page_url}/bids/{winner}/files/{sha}" in page.text
    assert (await buyer.get(f"{page_url}/bids/{winner}/files/{sha}")).content == signed_offer

    partial = await buyer.post(
        f"{page_url}/scores",
        data={"csrf_token": token, f"score[{winner}][Prix]": "90"},
    )
    assert partial.status_code == 422 and "SCORES_INVALID" in partial.text
    scores = {
        f"score[{winner}][Prix]": "90",
        f"score[{winner}][Valeur technique]": "80",
        f"score[{loser}][Prix]": "70",
        f"score[{loser}][Valeur technique]": "85",
    }
    scored = await buyer.post(f"{page_url}/scores", data={"csrf_token": token, **scores})
    assert scored.status_code == 303, scored.text
    ranked = (await buyer.get(page_url)).text
    assert "86.00" in ranked and "76.00" in ranked

    awarded = await buyer.post(
        f"{page_url}/award",
        data={
            "csrf_token": token,
            "bid_id": winner,
            "amount": "98 000,00",
            "electronic": "on",
            "reasons": "Meilleur rapport qualité-prix.",
        },
    )
    assert awarded.status_code == 303, awarded.text
    state = await tender.state()
    page = (await buyer.get(page_url)).text
    assert f'data-countdown="{state["standstill_end"]}"' in page
    assert "Enregistrer le marché signé" in page

    supplier, _ = await signed_in(site, Role.SUPPLIER, SELLER_SIRET)
    letter = await supplier.get(f"{page_of(tender)}/letter")
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")

    contract = await sign_pdf(test_pki, "seal", "B-LT", await sign_pdf(test_pki, "signer", "B-LT"))
    upload = {"files": [("contract", ("marche.pdf", contract, "application/pdf"))]}
    early = await buyer.post(f"{page_url}/contract", data={"csrf_token": token}, **upload)
    assert early.status_code == 409 and "STANDSTILL_RUNNING" in early.text
    await tender.skip(timedelta(days=12))
    signed = await buyer.post(f"{page_url}/contract", data={"csrf_token": token}, **upload)
    assert signed.status_code == 303, signed.text
    assert "Notifier le marché" in (await buyer.get(page_url)).text
    number = f"EJ-{uuid.uuid4().hex[:8]}"  # contract workflows share the Temporal server
    notified = await buyer.post(
        f"{page_url}/notification",
        data={"csrf_token": token, "number": number, "ceiling": "98000.00"},
    )
    assert notified.status_code == 303, notified.text
    page = text_of(await buyer.get(page_url))
    assert "Marché notifié" in page and number in page
    assert "Notifier le marché" not in page
