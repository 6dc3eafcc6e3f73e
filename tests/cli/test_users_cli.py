"""`chaine users create`, run as a real command: people who sign in to the portal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.credentials import secret_matches
from store.portal_users import PortalUserRepository

MINISTRY = "11000201100044"


async def users_create(
    database_url: str, tmp_path: Path, password: str, *args: str
) -> tuple[int, str, str]:
    """Run `chaine users create ARGS...` with the password on stdin."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "users",
        "create",
        *args,
        "--password-stdin",
        env={**os.environ, "CHAINE_DATABASE_URL": database_url, "CHAINE_VAR_DIR": str(tmp_path)},
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(f"{password}\n".encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_person_is_created_with_a_hashed_password_and_a_client_of_their_own(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    code, out, err = await users_create(
        database_url,
        tmp_path,
        "correct horse battery",
        "claire",
        "--role",
        "buyer",
        "--siret",
        MINISTRY,
        "--name",
        "Claire Martin",
        "--json",
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["username"] == "claire" and created["role"] == "buyer"
    async with sessions() as session:
        user = await PortalUserRepository(session).by_username("claire")
        assert user is not None
        assert "correct horse" not in user.password_hash
        assert secret_matches("correct horse battery", user.password_hash)
        assert user.client.client_id == created["client_id"]
        assert user.client.name == "Claire Martin"
        assert [s.siret for s in user.client.sirets] == [MINISTRY]


async def test_bad_usernames_weak_passwords_and_taken_names_are_refused_with_codes(
    database_url: str, tmp_path: Path
) -> None:
    base = ("--role", "supplier", "--siret", MINISTRY)
    cases = [
        ("Bad Name!", "a long enough password", "USERNAME_INVALID"),
        ("paul", "short", "PASSWORD_TOO_WEAK"),
        ("paul", "my name is paul, ok?", "PASSWORD_TOO_WEAK"),
    ]
    for username, password, code in cases:
        exit_code, _, err = await users_create(database_url, tmp_path, password, username, *base)
        assert exit_code == 1
        assert err.startswith(f"error [{code}]:"), err
    first = await users_create(database_url, tmp_path, "a long enough password", "paul", *base)
    assert first[0] == 0, first[2]
    again = await users_create(database_url, tmp_path, "another long password", "paul", *base)
    assert again[0] == 1 and again[2].startswith("error [USERNAME_TAKEN]:")
    no_siret = await users_create(
        database_url, tmp_path, "a long enough password", "lea", "--role", "supplier"
    )
    assert no_siret[0] == 1 and "SIRET_INVALID" in no_siret[2]
