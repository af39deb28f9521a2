"""The sandbox's admin side: its own routes (``/sandbox/...``) and the validation page.

Unauthenticated (the sandbox is local) and outside ``/1.0``: the clock, the seed, faults,
the request log, every e-mail and every service as the sandbox sees them, and the page
an OVH ``validationUrl`` points to (``/auth/?credentialToken=...``). ``docs/sandbox.md``
("Admin routes") lists them; ``admin.py`` is their client.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import errors
from reconciler.sandbox.backend import Backend
from reconciler.sandbox.bodies import (
    ClockBody,
    CredentialBody,
    RequestsQuery,
    ResetBody,
    SeedQuery,
    ValidateBody,
)
from reconciler.sandbox.calls import CallLog
from reconciler.sandbox.faults import FaultConfig, FaultInjector
from reconciler.sandbox.seed import Seed, parse_seed, seed_from_mapping


def admin_routes(backend: Backend, faults: FaultInjector, calls: CallLog) -> list[Route]:
    """The admin side's routes over one backend, its faults and its request log."""

    def endpoint(
        handler: Callable[[Request], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            try:
                result = await handler(request)
            except errors.ApiError as error:
                return JSONResponse(error.body(), status_code=error.status)
            except errors.SeedError as error:
                return JSONResponse({"message": str(error)}, status_code=400)
            except errors.StateError as error:
                return JSONResponse({"message": str(error)}, status_code=409)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return wrapped

    async def body_json(request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise errors.bad_request("expected a JSON body") from None

    async def summary(request: Request) -> Any:
        return {**backend.summary(), "faults": faults.config.to_json()}

    async def get_clock(request: Request) -> Any:
        return backend.clock().to_json()

    async def put_clock(request: Request) -> Any:
        body = ClockBody.read(await body_json(request))
        ticking = bool(body.ticking)
        if body.now is not None:
            return backend.set_clock(body.now, ticking=ticking).to_json()
        if body.advance is not None:
            return backend.advance_clock(body.advance, ticking=ticking).to_json()
        return backend.set_clock(backend.now(), ticking=ticking).to_json()

    async def get_faults(request: Request) -> Any:
        return faults.config.to_json()

    async def put_faults(request: Request) -> Any:
        faults.configure(FaultConfig.from_json(await body_json(request)))
        return faults.config.to_json()

    async def delete_faults(request: Request) -> Any:
        faults.configure(FaultConfig())
        return faults.config.to_json()

    def seed_of(value: Any) -> Seed:
        if isinstance(value, str):
            return parse_seed(value, "<admin seed>")
        return seed_from_mapping(value, "<admin seed>")

    async def reset(request: Request) -> Any:
        body = ResetBody.read(await body_json(request))
        if body.seed is not None:
            backend.load_seed(seed_of(body.seed), now=body.now)
        else:
            backend.reset(now=body.now)
        calls.clear()
        return backend.summary()

    async def put_seed(request: Request) -> Any:
        content_type = request.headers.get("content-type", "")
        now = None
        if "json" in content_type:
            seed = seed_of(await body_json(request))
        else:
            seed = parse_seed(
                (await request.body()).decode("utf-8", errors="replace"), "<admin seed>"
            )
            if request.query_params.get("now"):
                now = SeedQuery.read({"now": request.query_params["now"]}).now
        backend.load_seed(seed, now=now)
        return backend.summary()

    async def emails(request: Request) -> Any:
        return backend.emails()

    async def get_requests(request: Request) -> Any:
        # Only ``since`` is read: other query parameters are no concern of this route.
        since = int(RequestsQuery.read({"since": request.query_params.get("since", "0")}).since)
        return [entry.to_json() for entry in calls.since(since)]

    async def delete_requests(request: Request) -> Any:
        calls.clear()
        return {"last_seq": calls.last_seq}

    async def services(request: Request) -> Any:
        return backend.internal_services()

    async def validate(request: Request) -> Any:
        body = ValidateBody.read(await body_json(request))
        return backend.validate_credential(
            consumer_key=request.path_params["consumer_key"], validity=body.validity
        )

    async def put_credential(request: Request) -> Any:
        body = CredentialBody.read(await body_json(request))
        backend.set_credential_state(request.path_params["consumer_key"], body.state)
        return {"consumerKey": request.path_params["consumer_key"], "state": body.state}

    async def validation_page(request: Request) -> Any:
        token = request.query_params.get("credentialToken")
        if not token:
            raise errors.bad_request("missing credentialToken")
        result = backend.validate_credential(token=token)
        redirect = result.get("redirection")
        link = ""
        if redirect:
            shown = html.escape(redirect, quote=True)
            link = f'<p>Back to <a href="{shown}">{shown}</a></p>'
        return HTMLResponse(
            "<!doctype html><title>OVH API sandbox</title>"
            "<h1>Credential validated</h1>"
            "<p>The application may now use this consumer key on the sandbox.</p>" + link
        )

    return [
        Route("/sandbox", endpoint(summary), methods=["GET"]),
        Route("/sandbox/clock", endpoint(get_clock), methods=["GET"]),
        Route("/sandbox/clock", endpoint(put_clock), methods=["PUT", "POST"]),
        Route("/sandbox/faults", endpoint(get_faults), methods=["GET"]),
        Route("/sandbox/faults", endpoint(put_faults), methods=["PUT", "POST"]),
        Route("/sandbox/faults", endpoint(delete_faults), methods=["DELETE"]),
        Route("/sandbox/reset", endpoint(reset), methods=["POST"]),
        Route("/sandbox/seed", endpoint(put_seed), methods=["PUT", "POST"]),
        Route("/sandbox/emails", endpoint(emails), methods=["GET"]),
        Route("/sandbox/requests", endpoint(get_requests), methods=["GET"]),
        Route("/sandbox/requests", endpoint(delete_requests), methods=["DELETE"]),
        Route("/sandbox/services", endpoint(services), methods=["GET"]),
        Route("/sandbox/credentials/{consumer_key}/validate", endpoint(validate), methods=["POST"]),
        Route("/sandbox/credentials/{consumer_key}", endpoint(put_credential), methods=["PUT"]),
        Route("/auth/", endpoint(validation_page), methods=["GET"]),
        Route("/auth", endpoint(validation_page), methods=["GET"]),
    ]
