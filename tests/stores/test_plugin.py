"""A merchant downloads the companion plugin from bazgasht and connects it with one code."""

import base64
import io
import json
import zipfile

from app.stores.plugin import CONNECTION_PREFIX, PLUGIN_DIR, build_zip, version


def read_code(code: str) -> dict:
    assert code.startswith(CONNECTION_PREFIX)
    body = code[len(CONNECTION_PREFIX):]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_the_plugin_zip_installs_as_one_bazgasht_folder(client):
    response = client.get("/plugin/bazgasht.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="bazgasht-{version()}.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert all(name.startswith("bazgasht/") for name in names)
    assert "bazgasht/uninstall.php" in names and "bazgasht/includes/Plugin.php" in names
    # What the plugin's own tests need stays out of what merchants install.
    assert not any("/tests/" in name or name.endswith(".xml") for name in names)
    header = archive.read("bazgasht/bazgasht.php").decode()
    for line in ("Requires Plugins:     woocommerce", "WC tested up to:", "Tested up to:",
                 f"Version:              {version()}"):
        assert line in header
    assert len(names) == sum(1 for p in PLUGIN_DIR.rglob("*") if p.is_file())


def test_the_same_sources_build_the_same_zip():
    assert build_zip() == build_zip()


def test_the_make_target_writes_the_versioned_zip(tmp_path):
    from typer.testing import CliRunner

    from app.cli import cli

    done = CliRunner().invoke(cli, ["plugin-zip", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    written = tmp_path / f"bazgasht-{version()}.zip"
    assert done.output.strip() == str(written) and written.read_bytes() == build_zip()


def test_a_new_store_comes_with_the_plugin_connection_code(admin_client, live_server):
    created = admin_client.post("/platform/v1/stores", json={
        "name": "چای‌خانه", "url": "https://shop.example/"}).json()
    assert read_code(created["plugin_connection_code"]) == {
        "url": created["webhook_url"], "secret": created["webhook_secret"], "store": "چای‌خانه"}
