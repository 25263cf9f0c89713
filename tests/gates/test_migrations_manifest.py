"""Migrations are history: every revision file is listed with its sha256 in
migrations/manifest.sha256 and never changes once listed (fix forward with a new revision), and
the revisions form one line from the base to a single head."""

import hashlib
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations"
MANIFEST = MIGRATIONS / "manifest.sha256"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listed() -> dict[str, str]:
    """name (as in the manifest: versions/…) → sha256; `sha256sum` format, # comments."""
    entries = {}
    for line in MANIFEST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            entries[name.lstrip("*")] = digest
    return entries


def revision_files() -> list[str]:
    return sorted(f"versions/{p.name}" for p in (MIGRATIONS / "versions").iterdir()
                  if p.is_file() and p.suffix != ".pyc")


def test_landed_revisions_are_unchanged():
    problems = []
    for name, digest in sorted(listed().items()):
        path = MIGRATIONS / name
        if not path.is_file():
            problems.append(f"{name}: listed but gone")
        elif sha256(path) != digest:
            problems.append(f"{name}: changed (sha256 {digest} listed, {sha256(path)} now)")
    if problems:
        pytest.fail("A landed revision is never edited or removed (docs/conventions.md): restore "
                    "it as it was (`git diff migrations/versions` shows what changed) and make "
                    "the change in a new revision.\n" + "\n".join(problems), pytrace=False)


def test_every_revision_file_is_listed():
    new = [name for name in revision_files() if name not in listed()]
    if new:
        lines = [f"{sha256(MIGRATIONS / name)}  {name}" for name in new]
        pytest.fail("Revision files missing from migrations/manifest.sha256. Once the revision "
                    "is final (listed means landed: it is never edited again), add to the end "
                    "of migrations/manifest.sha256:\n" + "\n".join(lines), pytrace=False)


def test_one_head_and_a_linear_chain():
    scripts = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    heads = scripts.get_heads()
    assert len(heads) == 1, f"{len(heads)} heads ({', '.join(heads)}): one chain, one head; " \
        "point the newest revision's down_revision at the one before it"
    revisions = {rev.revision: rev for rev in scripts.walk_revisions()}
    merges = [f"{r.revision} ({r.path})" for r in revisions.values()
              if isinstance(r.down_revision, (tuple, list))]
    branches = [f"{r.revision} → {sorted(r.nextrev)}" for r in revisions.values()
                if len(r.nextrev) > 1]
    assert not merges and not branches, f"not one line: merges {merges}, branch points {branches}"
    chain, rev = [], revisions[heads[0]]
    while rev is not None:
        chain.append(rev.revision)
        rev = revisions.get(rev.down_revision) if rev.down_revision else None
    off_chain = sorted(set(revisions) - set(chain))
    assert not off_chain, f"revisions off the head's chain: {off_chain}"
    files = {Path(r.path).name for r in revisions.values()}
    strays = [name for name in revision_files()
              if name.endswith(".py") and Path(name).name not in files]
    assert not strays, f"files in migrations/versions that are no revision: {strays}"
