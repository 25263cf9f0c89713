"""The baseline: a bare FastAPI app that answers `GET|HEAD /{code}` with the same 302 as
bazgasht (same Location, same headers), from a dict loaded at start and nothing else.

Served by bench/redirect.py under the same uvicorn options as the real app, so the difference
between the two is what bazgasht itself costs per redirect. BENCH_LINKS_FILE: a JSON object
{code: target}, written by bench/redirect.py from the links table.
"""

import json
import os

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response

with open(os.environ["BENCH_LINKS_FILE"]) as f:
    TARGETS: dict[str, str] = json.load(f)
HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store"}

app = FastAPI()


@app.api_route("/{code}", methods=["GET", "HEAD"])
async def follow(code: str) -> Response:
    target = TARGETS.get(code)
    if target is None:
        return Response(status_code=404)
    return RedirectResponse(target, status_code=302, headers=HEADERS)
