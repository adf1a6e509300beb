"""Signal handling while training: record, restore, main thread only."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from warpnet.train.interrupt import TrainingInterrupted, catch_signals


def test_signals_are_recorded_and_handlers_restored():
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with catch_signals() as flag:
        assert flag.signum is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.signum == signal.SIGTERM
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_second_signal_stops_at_once():
    with pytest.raises(KeyboardInterrupt, match="second signal"), catch_signals():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)


def test_outside_the_main_thread_nothing_is_installed():
    seen = []

    def work():
        with catch_signals() as flag:
            seen.append((flag.signum, signal.getsignal(signal.SIGINT)))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [(None, before)]


def test_training_interrupted_is_a_keyboard_interrupt():
    err = TrainingInterrupted(signal.SIGTERM, 3, "/tmp/run/checkpoint.npz")
    assert isinstance(err, KeyboardInterrupt)
    assert str(err) == ("training interrupted by SIGTERM during epoch 3; checkpoint saved to "
                        "/tmp/run/checkpoint.npz")
