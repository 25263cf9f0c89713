"""The companion WordPress plugin as merchants get it: the installable zip (served by bazgasht and
built by `make plugin`) and the connection code they paste into its settings (docs/plugin.md)."""

import io
import json
import re
import zipfile
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from app.signing import b64url
from app.stores.models import Store

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugin" / "bazgasht"
CONNECTION_PREFIX = "BZG1-"
# A zip's entries carry a timestamp: a fixed one makes the same sources give the same bytes.
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)

router = APIRouter(tags=["companion plugin"])


def connection_code(store: Store, webhook_url: str) -> str:
    """What the plugin needs to create its cart webhook and to verify restore tokens."""
    body = json.dumps({"url": webhook_url, "secret": store.webhook_secret, "store": store.name},
                      ensure_ascii=False, separators=(",", ":"))
    return CONNECTION_PREFIX + b64url(body.encode())


def version(folder: Path = PLUGIN_DIR) -> str:
    header = (folder / "bazgasht.php").read_text(encoding="utf-8")
    found = re.search(r"^\s*\*\s*Version:\s*(\S+)", header, re.MULTILINE)
    if found is None:
        raise RuntimeError("the plugin's main file has no Version header")
    return found.group(1)


def build_zip(folder: Path = PLUGIN_DIR) -> bytes:
    """The plugin folder as WordPress installs it: every file under `bazgasht/`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(f"bazgasht/{path.relative_to(folder).as_posix()}", _ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes())
    return out.getvalue()


@cache
def _served() -> tuple[str, bytes]:
    return version(), build_zip()


@router.get("/plugin/bazgasht.zip", summary="Download the companion WordPress plugin",
            response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
def download() -> Response:
    number, body = _served()
    return Response(body, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="bazgasht-{number}.zip"'})
