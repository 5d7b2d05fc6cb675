"""Pages for people: the reader at `/`, and the API docs kept from reaching out.

The reader is plain HTML, CSS and JS (app/web/): `/` answers index.html and /static the
files beside it, and the page calls /api/v1 from the browser. Neither is in the OpenAPI
schema. Everything the page loads comes from the app itself (no CDN, no web fonts), and
its Content-Security-Policy holds it to that.

ReDoc's bundle (served locally by fastapi-offline) still shows Redocly's logo from their
CDN; /redoc gets a policy that only lets images come from the app, so the browser never
makes that request (the logo's <img> hides itself when it fails).
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB = Path(__file__).parent / "web"

CSP = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)
DOCS_CSP = b"img-src 'self' data:"


def add_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def reader_page() -> FileResponse:
        return FileResponse(
            WEB / "index.html",
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
        )

    app.mount("/static", StaticFiles(directory=WEB), name="reader-static")
    app.add_middleware(LocalImagesOnly, paths=("/redoc",))


class LocalImagesOnly:
    """Add `Content-Security-Policy: img-src 'self' data:` to the responses of paths."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", DOCS_CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_policy)
