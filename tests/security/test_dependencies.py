"""The dependency set is locked: every package of pyproject.toml, and everything they pull in,
at one exact version with its hashes (requirements*.lock), and the environment the tests run
in is exactly that set. Offline: the vulnerability audit itself (`make audit`) needs PyPI."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$")


def locked(name: str) -> dict[str, str]:
    """Package → version of one lock file; each entry must carry at least one hash."""
    lines = (ROOT / name).read_text().splitlines()
    pins: dict[str, str] = {}
    for n, line in enumerate(lines):
        match = ENTRY.match(line)
        if match:
            assert lines[n + 1].strip().startswith("--hash=sha256:"), f"{line}: no hash"
            pins[canonicalize_name(match[1])] = match[2]
        else:
            assert not line or line.startswith((" ", "#")), f"{name}: unpinned line {line!r}"
    return pins


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in
            (project["optional-dependencies"][extra] if extra else project["dependencies"])]


def test_every_declared_dependency_is_locked_at_a_version_it_allows():
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    for lock, requirements in ((runtime, declared(None)), (dev, declared(None) + declared("dev"))):
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{requirement} is not locked: run `make lock`"
            assert requirement.specifier.contains(lock[name], prereleases=True), (
                f"{requirement} but the lock has {lock[name]}: run `make lock`")
    # Serving and testing run the same versions of what they share.
    assert {n: v for n, v in dev.items() if n in runtime} == runtime


def test_the_environment_is_exactly_the_locked_set():
    dev = locked("requirements-dev.lock")
    installed = {canonicalize_name(d.metadata["Name"]): d.version
                 for d in metadata.distributions()}
    installed.pop("bazgasht")
    differs = {n: (installed.get(n), v) for n, v in dev.items()
               if n in installed and installed[n] != v}
    assert differs == {}, "installed ≠ locked: `make .venv/.installed` after `make lock`"
    assert set(installed) - set(dev) == set(), "installed but not locked"


def test_installs_take_the_lock_and_check_its_hashes():
    makefile = (ROOT / "Makefile").read_text()
    for lock in ("requirements-dev.lock", "requirements.lock"):
        assert f"pip install -q --require-hashes -r {lock}" in makefile
    assert makefile.count("pip install -q --no-deps -e .") == 2  # bazgasht itself adds nothing
