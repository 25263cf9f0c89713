"""The plugin's own checks: every file parses, the project's code style, its PHPUnit suite."""

from tests.plugin.php import PLUGIN, require, run


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
