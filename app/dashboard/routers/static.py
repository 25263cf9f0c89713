"""The panel's own CSS, JavaScript and font (app/assets.py): read once, kept a year by
browsers when asked for at their versioned URL."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.assets import assets
from app.dashboard.auth import PanelNotFound

router = APIRouter(prefix="/panel/static", include_in_schema=False)


@router.get("/{name:path}")
def static_file(name: str, request: Request) -> Response:
    found = assets().get(name)
    if found is None:
        raise PanelNotFound()
    data, media_type, version = found
    etag = f'"{version}"'
    headers = {"ETag": etag, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "public, max-age=31536000, immutable"
               if request.query_params.get("v") == version else "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


fallback = APIRouter(include_in_schema=False)


@fallback.api_route("/panel/{rest:path}", methods=["GET", "POST"])
def unknown_page(rest: str, request: Request) -> Response:
    """Any other /panel address: the panel's own Persian 404, not the API's JSON one (an
    address with a trailing slash goes to the one without)."""
    if request.method == "GET" and (rest == "" or rest.endswith("/")):
        target = ("/panel/" + rest).rstrip("/")
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(target + query, status_code=307)
    raise PanelNotFound()
