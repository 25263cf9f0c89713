"""A message's life has one owner: app/campaigns/lifecycle.py changes its status, and every
cause is a code with one Persian label."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "app" / "campaigns" / "lifecycle.py"
MESSAGE_NAMES = {"message", "msg", "m"}


def _status_writes(path: Path) -> list[str]:
    """Where a file writes a message's status or reason: UPDATE statements on Message, or an
    assignment to `message.status` / `message.reason`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "update" and node.args
                and isinstance(node.args[0], ast.Name) and node.args[0].id == "Message"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: update(Message)")
        if isinstance(node, ast.Attribute) and node.attr == "__table__" and isinstance(
                node.value, ast.Name) and node.value.id == "Message":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: Message.__table__")
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if (isinstance(leaf, ast.Attribute) and leaf.attr in ("status", "reason")
                            and isinstance(leaf.value, ast.Name)
                            and leaf.value.id in MESSAGE_NAMES):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                     f"{leaf.value.id}.{leaf.attr} =")
    return found


def test_only_the_lifecycle_module_changes_a_messages_status():
    # Files that know our Message at all (the fake gateway has messages of its own).
    writes = [w for path in sorted((ROOT / "app").rglob("*.py"))
              if path != OWNER and re.search(r"from app\.campaigns\.models import[^)]*\bMessage\b",
                                             path.read_text(encoding="utf-8"))
              for w in _status_writes(path)]
    assert writes == []


def test_the_owner_is_found_by_the_scan():
    """The scan above would see a status write: the owner's own are found."""
    assert any("update(Message)" in w for w in _status_writes(OWNER))


def test_no_reason_is_matched_by_its_text():
    """Reasons are codes: nothing in app/ selects or decodes them with LIKE or a prefix."""
    hits = [f"{p.relative_to(ROOT)}" for p in (ROOT / "app").rglob("*.py")
            if re.search(r"reason\.like\(|reason\.startswith\(|LOOKUP_TEXT_PREFIX",
                         p.read_text(encoding="utf-8"))]
    assert hits == []
