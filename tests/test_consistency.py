"""The snapshot gate: a commit waits for page runs in flight and never lands inside one."""

from __future__ import annotations

import threading
import time

from dashboard.consistency import SnapshotGate


def test_commit_waits_for_a_running_page_and_holds_new_ones_back():
    gate = SnapshotGate()
    events: list[str] = []
    reading = threading.Event()

    def page(name: str, hold: float) -> None:
        with gate.reading():
            events.append(f"{name} start")
            reading.set()
            time.sleep(hold)
            events.append(f"{name} end")

    def upload() -> None:
        reading.wait()
        with gate.committing():
            events.append("commit")
            time.sleep(0.2)
            events.append("commit done")

    t1 = threading.Thread(target=page, args=("A", 0.4))
    t2 = threading.Thread(target=upload)
    t1.start()
    t2.start()
    time.sleep(0.1)
    t3 = threading.Thread(target=page, args=("B", 0.0))  # arrives while the commit waits
    t3.start()
    for t in (t1, t2, t3):
        t.join(5)
    assert events.index("A end") < events.index("commit")
    assert events.index("commit done") < events.index("B start")


def test_a_page_that_commits_does_not_wait_for_itself():
    gate = SnapshotGate()
    done = []

    def page_with_upload() -> None:
        with gate.reading(), gate.committing():
            done.append(True)

    t = threading.Thread(target=page_with_upload)
    t.start()
    t.join(5)
    assert done == [True]
