"""Signing in, sessions and CSRF over plain HTTP: what a browser would send, and worse."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from core.principals import Role
from store.models import PortalSession
from tests.invoicing.builders import SELLER_SIRET
from tests.portal.conftest import CSRF_FIELD, PASSWORD, Site, csrf_of


async def login_token(client: httpx.AsyncClient) -> str:
    form = await client.get("/login")
    found = CSRF_FIELD.search(form.text)
    assert found
    return found[1]


async def test_a_stranger_is_sent_to_the_sign_in_form_and_back(site: Site) -> None:
    client = site.api.anonymous()
    answer = await client.get("/supplier/invoices?status=PAYEE")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fsupplier%2Finvoices%3Fstatus%3DPAYEE"
    person = await site.person(Role.SUPPLIER, SELLER_SIRET)
    token = await login_token(client)
    signed = await client.post(
        "/login",
        data={
            "username": person.username,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/supplier/invoices?status=PAYEE",
        },
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/supplier/invoices?status=PAYEE"
    cookie = signed.headers["set-cookie"]
    assert "chaine_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development over plain http; https public URL → Secure


async def test_a_wrong_password_and_an_unknown_user_get_the_same_coded_answer(
    site: Site,
) -> None:
    person = await site.person(Role.SUPPLIER, SELLER_SIRET)
    client = site.api.anonymous()
    answers = []
    for username, password in ((person.username, "not the password"), ("nobody", PASSWORD)):
        token = await login_token(client)
        answer = await client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        answers.append(answer)
    for answer in answers:
        assert answer.status_code == 401
        assert "SIGN_IN_FAILED" in answer.text
        assert "chaine_session" not in answer.headers.get("set-cookie", "")


async def test_a_sign_in_without_the_form_token_is_refused(site: Site) -> None:
    person = await site.person(Role.SUPPLIER, SELLER_SIRET)
    client = site.api.anonymous()
    await login_token(client)  # the cookie is set, but the field is missing
    answer = await client.post(
        "/login", data={"username": person.username, "password": PASSWORD, "csrf_token": "x"}
    )
    assert answer.status_code == 403
    assert "CSRF_FAILED" in answer.text


@pytest.mark.parametrize("origin", ["https://evil.example", None])
async def test_a_change_without_the_session_token_or_from_another_site_is_refused(
    site: Site, origin: str | None
) -> None:
    person = await site.person(Role.SUPPLIER, SELLER_SIRET)
    client = await site.signed_in(person)
    token = await csrf_of(client)
    headers = {"Origin": origin} if origin else {}
    # From another site, even with the right token; from ours, without it.
    data = {"csrf_token": token} if origin else {}
    answer = await client.post("/logout", data=data, headers=headers)
    assert answer.status_code == 403
    assert "CSRF_FAILED" in answer.text
    assert (await client.get("/", follow_redirects=False)).headers["location"] != "/login"


async def test_signing_out_ends_the_session_on_the_server(site: Site) -> None:
    person = await site.person(Role.SUPPLIER, SELLER_SIRET)
    client = await site.signed_in(person)
    stolen = client.cookies.get("chaine_session")
    token = await csrf_of(client)
    answer = await client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303
    async with site.api.sessions() as session:
        assert (await session.scalars(select(PortalSession))).all() == []
    replay = site.api.anonymous()
    replay.cookies.set("chaine_session", stolen)
    assert (await replay.get("/supplier")).headers["location"].startswith("/login")


async def test_a_page_of_another_role_is_refused_with_a_code(site: Site) -> None:
    person = await site.person(Role.SUPPLIER, SELLER_SIRET)
    client = await site.signed_in(person)
    answer = await client.get("/operator")
    assert answer.status_code == 403
    assert "FORBIDDEN_ROLE" in answer.text
    assert answer.headers["content-type"].startswith("text/html")


async def test_pages_forbid_framing_and_foreign_scripts(site: Site) -> None:
    answer = await site.api.anonymous().get("/login")
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', answer.text):
        assert (await site.api.anonymous().get(asset)).status_code == 200, asset


async def test_the_language_switch_shows_english(site: Site) -> None:
    client = site.api.anonymous()
    switched = await client.get("/lang/en?next=/login", follow_redirects=True)
    assert '<html lang="en">' in switched.text
    assert "Username" in switched.text
    french = await site.api.anonymous().get("/login")
    assert "Mot de passe" in french.text
