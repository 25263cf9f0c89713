"""Shared by the operations tests: closed ports, bounded waits, a store on the fake Kavenegar,
and processes that never outlive their test."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.messaging.fake_kavenegar import FakeKavenegar
from tests import factories
from tests.conftest import _free_port

KEY = "kavenegar-ops-key-0123"


def wait_until(condition, *, timeout: float = 30.0, what: str = "condition"):
    """Poll `condition` until it is truthy (returned) or `timeout` passes (a failure): a bound on
    something that is already on its way, never a guess at how long it takes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class UntilDoneOrHeld:
    """A fan-out round's deadline for tests, with no clock in it: the round stops waiting once
    each store's work is done, or is waiting on an answer its fake holds. `fakes`: store id →
    the fake its work calls; `held`: round (fan_out's `what`) → the call that round makes and
    the test holds ("replies" → "sms/receive")."""

    def __init__(self, fakes: dict, held: dict[str, str]):
        self.fakes, self.held = fakes, held

    def wait(self, futures, *, what: str) -> None:
        call = self.held.get(what)

        def held(store_id: int) -> bool:
            return call is not None and store_id in self.fakes and \
                self.fakes[store_id].holding(call) > 0

        wait_until(lambda: all(f.done() or held(s) for s, f in futures.items()),
                   what=f"{what}: each store done or held")

    def __str__(self) -> str:
        return "the test's deadline"


class UntilOthersDone:
    """A fan-out round's deadline for tests, with no clock in it: the round stops waiting once
    every store but the `held` ones is done (their gateways hold the calls until the test lets
    them go). A wait in seconds would never end under a faked clock (faketime), and would make
    the test's outcome hang on the machine's speed."""

    def __init__(self, *held: int):
        self.held = set(held)

    def wait(self, futures, *, what: str) -> None:
        wait_until(lambda: all(f.done() for store_id, f in futures.items()
                               if store_id not in self.held), what="the other stores' work")

    def __str__(self) -> str:
        return "the test's deadline"


@pytest.fixture
def free_redis_url() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{_free_port()}/0"


@pytest.fixture
def kavenegar():
    with FakeKavenegar(api_key=KEY) as fake:
        yield fake


def use_kavenegar(factory, store_id: int) -> None:
    factories.use_kavenegar(factory, store_id, KEY)


# ---- processes a test starts: each leads a process group of its own, ended with its children ----

# Run first in the new process: die with the test process even if that one is killed -9
# (PR_SET_PDEATHSIG, Linux), then become the program (execv keeps the setting).
_DIE_WITH_THE_TESTS = """
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass  # not Linux: the fixtures and the session's net still end it
if os.getppid() != int(sys.argv[1]):
    sys.exit("the test process is gone")
os.execv(sys.argv[2], sys.argv[2:])
"""

_STARTED: dict[int, tuple[str, subprocess.Popen]] = {}  # pgid: what, process; not yet ended


def spawn(argv: list[str], *, what: str, log: Path, env: dict[str, str],
          cwd: Path) -> subprocess.Popen:
    """Start `argv` leading a new process group (its children join it), output to `log` (a
    file: a pipe nobody reads can fill and block it). End it with `end_group`."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _DIE_WITH_THE_TESTS, str(os.getpid()), *argv],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
            start_new_session=True)
    _STARTED[process.pid] = (what, process)
    return process


def exit_status(process: subprocess.Popen) -> int | None:
    """The exit status if `process` has exited (as Popen.returncode), else None. The exited
    process is left unreaped (a zombie): its pid, the group's id, cannot be taken by another
    process before `end_group` has signalled the group."""
    if process.returncode is not None:
        return process.returncode
    try:
        info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # reaped already
        return process.wait()
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def group_members(pgid: int) -> list[str]:
    """The live processes (zombies are not) of process group `pgid`: "pid command line"."""
    if not Path("/proc/self/stat").exists():  # no /proc: ask the kernel (zombies count)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [f"process group {pgid}"]
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(f"{entry} {command.replace(bytes(1), b' ').decode(errors='replace')}")
    return members


def end_group(process: subprocess.Popen, *, timeout: float = 60.0) -> list[str]:
    """SIGKILL the group `process` leads (it, and its children wherever they are in their own
    shutdown), reap it and wait for the group to be empty. Returns what is still alive after
    `timeout` (a failure guard: SIGKILL is not refused), [] when all is gone."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # nothing left in it
        pass
    process.wait()
    deadline = time.monotonic() + timeout
    while (left := group_members(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not left:
        _STARTED.pop(process.pid, None)
    return left


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_session():
    """The net under the per-test fixtures: whatever a test started and did not end (its
    teardown itself failed) is killed here, and reported."""
    yield
    leaked = {}
    for pgid, (what, process) in list(_STARTED.items()):
        if process.returncode is None or group_members(pgid):
            leaked[what] = end_group(process) or "killed at the end of the session"
    _STARTED.clear()
    assert not leaked, f"processes outlived their tests: {leaked}"
