"""FastAPI recipe: one managed-identity client per app, owned by the lifespan.

Run with ``uvicorn examples.fastapi_app:app``.  The client (and the httpx client that
calls the downstream API) open when the app starts and close when it stops; routes get
them through dependencies.  The token goes only into the outgoing ``Authorization``
header: never into a response, a log line or an exception message.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request

from msal_mi_async import ManagedIdentityAuth, ManagedIdentityClient


def create_app(downstream_url: str, resource: str) -> FastAPI:
    """An app whose ``/downstream`` route calls ``downstream_url`` as its managed identity."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ManagedIdentityClient() as client:
            auth = ManagedIdentityAuth(resource, client=client)
            async with httpx.AsyncClient(auth=auth, timeout=10) as http:
                app.state.mi_client, app.state.http = client, http
                yield

    app = FastAPI(lifespan=lifespan)
    app.get("/token-status")(token_status)
    app.get("/downstream")(_downstream(downstream_url))
    app.state.resource = resource
    return app


def mi_client(request: Request) -> ManagedIdentityClient:
    """Dependency: the app's managed-identity client."""
    client: ManagedIdentityClient = request.app.state.mi_client
    return client


def http_client(request: Request) -> httpx.AsyncClient:
    """Dependency: the app's httpx client, authenticated as the managed identity."""
    http: httpx.AsyncClient = request.app.state.http
    return http


async def token_status(
    request: Request, client: Annotated[ManagedIdentityClient, Depends(mi_client)]
) -> dict[str, Any]:
    """Facts about the token (never the token itself)."""
    result = await client.acquire_token(request.app.state.resource)
    return {
        "expires_on": result.expires_on,
        "token_source": result.token_source.value,
        "managed_identity_source": result.managed_identity_source.value,
    }


def _downstream(url: str) -> Any:
    async def downstream(http: Annotated[httpx.AsyncClient, Depends(http_client)]) -> Any:
        """Call the downstream API with a bearer token and relay its status and JSON."""
        response = await http.get(url)
        return {"status": response.status_code, "body": response.json()}

    return downstream


app = create_app(
    os.environ.get(
        "DOWNSTREAM_URL", "https://management.azure.com/subscriptions?api-version=2022-12-01"
    ),
    os.environ.get("DOWNSTREAM_RESOURCE", "https://management.azure.com"),
)
