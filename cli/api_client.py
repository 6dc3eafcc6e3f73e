"""A small client of Chaîne's own API, for the commands suppliers run (flows, EDI mode)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from core.errors import ChaineError, ErrorCode

ClientIdOption = Annotated[str, typer.Option(envvar="CHAINE_CLIENT_ID", help="API client id.")]
ClientSecretOption = Annotated[
    str, typer.Option(envvar="CHAINE_CLIENT_SECRET", help="API client secret.")
]
ApiOption = Annotated[
    str | None, typer.Option("--api", help="Base URL of the API (default: CHAINE_PUBLIC_URL).")
]


class ApiRefused(ChaineError):
    """The API answered with a problem."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 502


class ApiClient:
    """HTTP calls with a client-credentials token, fetched once and renewed on expiry."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=120)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token: str | None = None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _authenticate(self) -> None:
        response = self.http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        if response.status_code != 200:
            raise ApiRefused(f"authentication refused: {problem_detail(response)}")
        self.token = response.json()["access_token"]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request, authenticating first and once more if the token expired."""
        for attempt in range(2):
            if self.token is None:
                self._authenticate()
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.token}"}
            response = self.http.request(method, url, headers=headers, **kwargs)
            if response.status_code != 401 or attempt:
                return response
            self.token = None
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
        return response


def problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return f"[{body.get('code', response.status_code)}] {body.get('detail', '')}"
