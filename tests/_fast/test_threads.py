"""Helper threads: every part runs, at the same time, with results in order and errors raised."""

from __future__ import annotations

import os
import threading
import warnings

import pytest

from warpnet._fast import threads as _threads


def test_results_come_back_in_part_order_and_the_first_part_runs_here():
    caller = threading.current_thread()
    seen = {}

    def work(part):
        seen[part] = threading.current_thread()
        return part * part

    assert _threads.run(work, [3, 1, 4, 1 + 4]) == [9, 1, 16, 25]
    assert seen[3] is caller
    others = {seen[p] for p in (1, 4, 5)}
    assert len(others) == 3 and caller not in others
    assert others <= _threads.helper_threads()


def test_parts_run_at_the_same_time():
    # Each part waits for all the others: this only finishes if they run at once.
    barrier = threading.Barrier(3, timeout=10)
    assert _threads.run(lambda part: barrier.wait() >= 0 and part, ["a", "b", "c"]) == ["a", "b", "c"]


def test_one_part_or_none_needs_no_helper():
    assert _threads.run(lambda part: part + 1, [1]) == [2]
    assert _threads.run(lambda part: part, []) == []


@pytest.mark.parametrize("failing", [0, 2])
def test_an_error_in_any_part_is_raised_after_every_part_has_finished(failing):
    finished = []

    def work(part):
        if part == failing:
            raise ValueError(f"part {part} failed")
        finished.append(part)
        return part

    with pytest.raises(ValueError, match=f"part {failing} failed"):
        _threads.run(work, [0, 1, 2])
    assert sorted(finished) == sorted({0, 1, 2} - {failing})
    assert _threads.run(lambda part: part, [0, 1, 2]) == [0, 1, 2]  # the helpers still serve


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_starts_helpers_of_its_own():
    _threads.run(lambda part: part, [0, 1])  # helpers exist in the parent
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python >= 3.12 warns of forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: the parent's helper threads do not exist here
        try:
            ok = not _threads.helper_threads() and _threads.run(lambda p: p * 2, [1, 2]) == [2, 4]
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"


def test_a_keyboard_interrupt_while_waiting_still_waits_for_every_part():
    class Done:  # a semaphore interrupted on its first acquire
        def __init__(self):
            self.calls = self.acquired = 0

        def acquire(self):
            self.calls += 1
            if self.calls == 1:
                raise KeyboardInterrupt
            self.acquired += 1

    done = Done()
    with pytest.raises(KeyboardInterrupt):
        _threads._wait(done, 2)
    assert done.acquired == 2
