"""The SQLite queue: a task is a nudge, queued without a disk flush, and kept."""

from __future__ import annotations

from odr.queue import NudgeHuey


def test_the_sqlite_queue_keeps_tasks_without_a_flush_each(tmp_path):
    queue = NudgeHuey("odr-test", filename=str(tmp_path / "queue.db"))
    connection = queue.storage.conn
    assert connection.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL, not FULL (2)
    assert connection.execute("pragma journal_mode").fetchone()[0] == "wal"

    @queue.task()
    def nudge() -> str:
        return "done"

    nudge()
    again = NudgeHuey("odr-test", filename=str(tmp_path / "queue.db"))  # another process's view
    assert again.pending_count() == 1
    assert queue.execute(queue.dequeue()) == "done"
    assert again.pending_count() == 0
