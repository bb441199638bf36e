"""What the API and webhook routes share: the request's database session, the
mapping of anbi errors to HTTP statuses, and the limit on request bodies.

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

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from anbi.core.errors import AnbiError, ConfigurationError, Conflict, InvalidInput, NotFound
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
