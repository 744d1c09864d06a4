"""A Starlette app behind tracklane.asgi.TracklaneMiddleware, served by uvicorn."""

import os

import tracklane
import tracklane.asgi
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

client = tracklane.Client(
    [{"type": "segment", "write_key": "test-segment-key", "base_url": os.environ["COLLECTOR_URL"] + "/segment"}],
    flush_interval_ms=50,
)


async def lead(request: Request) -> JSONResponse:
    tracker = tracklane.asgi.get_tracker(request)
    result = tracker.track("lead_created", {"plan": "pro"})
    return JSONResponse({"visitor": tracker.anonymous_id, "status": result.status, "context": tracker.context})


async def flush(request: Request) -> JSONResponse:
    report = await client.aflush(10)
    return JSONResponse({"pending": report["pending"]})


app = Starlette(
    routes=[Route("/lead", lead), Route("/flush", flush)],
    middleware=[Middleware(tracklane.asgi.TracklaneMiddleware, client=client, trust_proxy=True)],
)
