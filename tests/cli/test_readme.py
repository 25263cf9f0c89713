"""The README's command-line examples work as printed, in order, on a fresh database where
`make serve` already made the demo store."""

import json
import re
import shlex
from pathlib import Path

from tests.cli.conftest import bazgasht, clean_env, serving

README = Path(__file__).resolve().parents[2] / "README.md"
# They serve until stopped: `serve` is run first (as `make serve` would), the others apart.
LONG_RUNNING = {"serve", "fake-kavenegar", "worker", "beat"}


def command_line_examples() -> list[str]:
    section = README.read_text(encoding="utf-8").split("\n## Command line\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def parse(line: str) -> tuple[dict, list[str]]:
    """Its environment assignments and its arguments, optional parts ([…]) left out."""
    words = shlex.split(re.sub(r"\[[^\]]*\]", "", line), comments=True)
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "bazgasht", line
    return env, words[1:]


def test_the_command_line_examples_work_as_printed(tmp_path):
    env = clean_env()
    with serving(tmp_path, env):
        pass  # the demo store is made; the examples run after, as a newcomer would
    assert (tmp_path / "bazgasht.db").exists()
    ran, created = [], None
    for line in command_line_examples():
        extra, args = parse(line)
        if args[0] in LONG_RUNNING:
            continue
        result = bazgasht(*args, cwd=tmp_path, env=env | extra)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        if args[:2] == ["store", "create"]:
            created = json.loads(result.stdout)
        ran.append(args[:2])
    assert ["store", "list"] in ran and ["store", "rotate-key"] in ran and created
    # The ids the examples use are the store they created, not the demo store (id 1).
    ids = {int(m) for m in re.findall(r"--store (\d+)", "\n".join(command_line_examples()))}
    assert ids == {created["id"]} and created["id"] != 1
    listed = json.loads(bazgasht("store", "list", cwd=tmp_path, env=env).stdout)
    assert [(s["id"], s["name"]) for s in listed] == [(1, "فروشگاه نمونه"),
                                                       (created["id"], "چای‌خانه")]


def test_the_long_running_commands_exist_as_documented():
    for line in command_line_examples():
        _, args = parse(line)
        if args[0] in LONG_RUNNING:
            result = bazgasht(args[0], "--help", cwd=README.parent, env=clean_env())
            assert result.returncode == 0, f"{line}\n{result.stderr}"
            for option in (a.split("=")[0] for a in shlex.split(line.replace("[", " ").replace(
                    "]", " "), comments=True) if a.startswith("--")):
                assert option in result.stdout, (line, option)
