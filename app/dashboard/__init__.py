"""The merchant dashboard: a Persian (RTL) web panel under /panel on top of the admin and report
services (called in-process, never over HTTP), rendered from templates/dashboard/ with a little
JavaScript for the live SMS preview. `install(app)` adds its routes and its error pages.
"""

from fastapi import FastAPI, Request

from app.dashboard import views
from app.dashboard.auth import CsrfFailed, FormTooLarge, LoginRequired, PanelNotFound
from app.dashboard.routers import routers


async def _login_required(request: Request, exc: LoginRequired):
    return views.login_redirect(request, exc)


async def _not_found(request: Request, exc: PanelNotFound):
    return views.not_found(request)


async def _csrf_failed(request: Request, exc: CsrfFailed):
    return views.error_page(request, "csrf", status_code=403)


async def _too_large(request: Request, exc: FormTooLarge):
    return views.error_page(request, "too_large", status_code=413)


def install(app: FastAPI) -> None:
    """Add the panel to the app; call it before the short-link router (which takes /{code})."""
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PanelNotFound, _not_found)
    app.add_exception_handler(CsrfFailed, _csrf_failed)
    app.add_exception_handler(FormTooLarge, _too_large)
