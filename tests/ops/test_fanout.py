"""Each store's work side by side, bounded, within a deadline (app/ops/fanout.py): a store that
hangs or fails holds up no other."""

import threading

from app.ops.fanout import THREAD_PREFIX, Seconds, fan_out
from app.ops.logs import context, log_context
from tests.ops.conftest import UntilOthersDone, wait_until


def fan_out_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


def test_every_store_is_served_and_answers_come_in_the_stores_order():
    assert fan_out(lambda store_id: store_id * 10, [3, 1, 2], what="test") == [30, 10, 20]
    assert fan_out(lambda store_id: store_id, [], what="test") == []


def test_a_store_whose_work_raises_is_logged_and_the_others_count(caplog):
    def work(store_id):
        if store_id == 2:
            raise RuntimeError("a bug that only store 2's data reaches")
        return store_id

    assert fan_out(work, [1, 2, 3], what="test") == [1, 3]
    assert "test: store 2 failed" in caplog.text
    assert "a bug that only store 2's data reaches" in caplog.text


def test_a_store_that_hangs_is_left_at_the_deadline_and_finishes_on_its_own(caplog):
    answer = threading.Event()
    finished = []

    def work(store_id):
        if store_id == 1:
            answer.wait()  # untimed: its gateway answers when the test says so
        finished.append(store_id)
        return store_id

    try:
        assert fan_out(work, [1, 2, 3], what="test", deadline=UntilOthersDone(1)) == [2, 3]
        assert ("test: 1 of 3 stores not done within the test's deadline (stores 1)"
                in caplog.text)
        assert 1 not in finished
    finally:
        answer.set()
    wait_until(lambda: 1 in finished, what="the late store's work")
    wait_until(lambda: not fan_out_threads(), what="the pool's threads to end")


def test_at_most_workers_stores_at_once():
    lock, go = threading.Lock(), threading.Event()
    running, most = [0], [0]

    def work(store_id):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        go.wait(30)  # a bound: let go once as many as allowed are in
        with lock:
            running[0] -= 1
        return store_id

    def let_go():
        try:
            wait_until(lambda: running[0] == 3, what="three stores at once")
        finally:
            go.set()

    opener = threading.Thread(target=let_go)
    opener.start()
    try:
        assert fan_out(work, range(10), what="test", workers=3, deadline=Seconds(60)) == list(range(10))
    finally:
        go.set()
        opener.join(30)
    assert most[0] == 3


def test_a_stores_work_logs_with_its_store_id_and_the_callers_context():
    with log_context(job="replies"):
        seen = fan_out(lambda store_id: context(), [7, 8], what="test")
    assert seen == [{"job": "replies", "store_id": 7}, {"job": "replies", "store_id": 8}]
