"""`make bench` on a machine without py-spy: the profile is skipped with a note, not a crash."""

import sys

from bench import harness


def test_without_py_spy_the_profile_is_skipped_with_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no py-spy beside it
    monkeypatch.setenv("PATH", str(tmp_path))  # nor on PATH
    assert harness.py_spy_path() is None
    assert harness.py_spy(harness.Processes(), pid=1, seconds=1, out=tmp_path / "p.txt") is None
    notes = capsys.readouterr().out.splitlines()
    assert notes and all(line.startswith("note: py-spy is not installed") for line in notes)


def test_py_spy_beside_the_interpreter_is_used(tmp_path, monkeypatch):
    spy = tmp_path / "py-spy"
    spy.write_text("#!/bin/sh\n")
    spy.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", "")
    assert harness.py_spy_path() == str(spy)
