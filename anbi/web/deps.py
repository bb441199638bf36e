"""What the API and webhook routes share: the request's database session, the
mapping of anbi errors to HTTP statuses, and the limit on request bodies; and the
check every route of the app runs first, that its text can be stored
(`storable_text`).

`DbSession` commits BEFORE the response is sent (`scope="function"`), so a client
that gets 201 can read what it created, and a commit that fails is a 500 rather
than a success already answered.

`ApiRoute` is the route class of the API routers: it refuses a body over the size
limit with 413 before anything reads it, and turns the error family of
`anbi.core.errors` into one JSON answer each — domain code never names an HTTP
status."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from anbi.core.errors import AnbiError, ConfigurationError, Conflict, InvalidInput, NotFound
from anbi.core.text import control_character
from anbi.web.app import get_session

DbSession = Annotated[Session, Depends(get_session, scope="function")]

# A request body larger than this is refused with 413 (the API takes single records).
MAX_BODY_BYTES = 1024 * 1024


def problem_detail(exc: InvalidInput) -> list[dict[str, Any]]:
    """Problems in FastAPI's own 422 shape: `loc` names the field."""
    return [
        {"loc": ["body", problem.field] if problem.field else ["body"], "msg": problem.reason, "type": "value_error"}
        for problem in exc.problems
    ]


def error_response(exc: AnbiError) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        return JSONResponse({"detail": problem_detail(exc)}, status_code=422)
    if isinstance(exc, NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, Conflict):
        return JSONResponse({"detail": str(exc)}, status_code=409)
    if isinstance(exc, ConfigurationError):
        return JSONResponse({"detail": str(exc)}, status_code=503)
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def storable_text(request: Request) -> None:
    """Refuses a request whose query, path or form fields hold a control character
    (`anbi.core.text`), before any of them reaches a query: 422 naming the field on
    the API, 400 elsewhere. JSON bodies are checked by their models, files by the
    import's reader."""
    fields = [("query", *item) for item in request.query_params.multi_items()]
    fields += [("path", *item) for item in request.path_params.items()]
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # Read once: the route's own form parameters get the same parsed form.
        fields += [("body", name, value) for name, value in (await request.form()).multi_items() if isinstance(value, str)]
    for place, name, value in fields:
        problem = control_character(name) or control_character(value)
        if problem:
            if request.url.path.startswith("/api/"):
                raise RequestValidationError([{"loc": (place, name), "msg": problem, "type": "value_error"}])
            raise HTTPException(400, f"{name}: {problem}")


class BodyTooLarge(Exception):
    pass


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes (a declared
    Content-Length is checked before reading anything)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge()
        except ValueError:
            pass
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge()
    return bytes(body)


def too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body is larger than {limit} bytes"}, status_code=413)


class ApiRoute(APIRoute):
    """A route that limits the body size and maps anbi errors to statuses."""

    body_limit = MAX_BODY_BYTES

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()
        limit = self.body_limit

        async def route_handler(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                try:
                    body = await read_limited_body(request, limit)
                except BodyTooLarge:
                    return too_large(limit)
                # Starlette reads the body from here from now on.
                request._body = body
            try:
                return await handler(request)
            except AnbiError as exc:
                return error_response(exc)

        return route_handler
