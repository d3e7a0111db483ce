"""Every page run sees the data from before a commit or after it, never a mix.

Page runs hold the gate for reading for their whole run; a commit (upload, mart refresh) waits
until the runs in flight have finished and holds new ones back while it lands (writer-preferring,
so a stream of readers cannot starve it). A run that itself commits (the upload on 数据) does
not wait for itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

WAIT_SECONDS = 60.0


class SnapshotGate:
    """A writer-preferring readers/writer gate keyed by thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers: dict[int, int] = {}
        self._writers_waiting = 0
        self._writing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            deadline = time.monotonic() + WAIT_SECONDS
            while (self._writing or self._writers_waiting) and me not in self._readers:
                if not self._cond.wait(timeout=max(deadline - time.monotonic(), 0.01)):
                    break
            self._readers[me] = self._readers.get(me, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                self._readers[me] -= 1
                if not self._readers[me]:
                    del self._readers[me]
                self._cond.notify_all()

    @contextmanager
    def committing(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            self._writers_waiting += 1
            deadline = time.monotonic() + WAIT_SECONDS
            while self._writing or any(t != me for t in self._readers):
                if not self._cond.wait(timeout=max(deadline - time.monotonic(), 0.01)):
                    break
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@st.cache_resource
def gate() -> SnapshotGate:
    """One gate per server process (all sessions share the warehouse connection)."""
    return SnapshotGate()
