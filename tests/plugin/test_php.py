"""The plugin's own checks: every file parses, the project's code style, its PHPUnit suite (on
SQLite, and again on MariaDB, the engine WordPress runs on)."""

import os

from tests.conftest import require_server
from tests.plugin.php import PLUGIN, require, run

MARIADB = os.environ.get("TEST_MARIADB_DSN", "mysql:host=127.0.0.1;port=3306")


def test_every_php_file_of_the_plugin_parses():
    php = require("php")
    files = sorted(PLUGIN.rglob("*.php"))
    assert len(files) > 5
    broken = {str(f.relative_to(PLUGIN)): done.stdout + done.stderr
              for f in files if (done := run(php, "-l", str(f))).returncode != 0}
    assert broken == {}


def test_the_plugin_follows_its_code_style():
    done = run(require("phpcs"), "--standard=phpcs.xml", "--report=full", "-q")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_plugin_phpunit_suite_passes():
    done = run(require("phpunit"), "-c", "phpunit.xml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK (" in done.stdout


def test_the_plugin_phpunit_suite_passes_on_mariadb():
    phpunit = require("phpunit")
    reach = run(require("php"), "-r", "new PDO(getenv('DSN') . ';charset=utf8mb4', 'root', '');",
                env={"DSN": MARIADB})
    said = (reach.stdout + reach.stderr).strip().splitlines() or ["php could not connect"]
    require_server("MariaDB", MARIADB, said[0] if reach.returncode else None)
    done = run(phpunit, "-c", "phpunit.xml", env={"BAZGASHT_TEST_MYSQL": MARIADB})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK (" in done.stdout
