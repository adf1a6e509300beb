"""Point sets: generation, the train/test split, clicks, and CSV in and out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet.data import make_toy
from warpnet.playground.points import (
    MAX_CSV_BYTES,
    PointSet,
    from_rows,
    generate,
    parse_csv,
    to_csv,
)
from warpnet.playground.settings import MAX_POINTS, parse_settings


def test_generate_matches_make_toy_and_splits_by_the_share():
    s = parse_settings({"dataset": "gauss", "classes": 4, "points": 200, "test_share": 0.25, "seed": 3})
    p = generate(s)
    ref = make_toy("gauss", 200, s.noise, 3, 4)
    np.testing.assert_array_equal(p.x, ref.x)
    np.testing.assert_array_equal(p.y, ref.y)
    assert p.test.sum() == 50 and p.n_classes == 4
    q = generate(s)
    np.testing.assert_array_equal(p.test, q.test)


def test_point_sets_are_read_only():
    p = generate(parse_settings({}))
    with pytest.raises(ValueError):
        p.x[0, 0] = 5.0


def test_with_point_adds_a_training_point_and_leaves_the_original():
    p = generate(parse_settings({"points": 50}))
    q = p.with_point(0.25, -0.5, 2)
    assert len(q) == 51 and len(p) == 50
    np.testing.assert_array_equal(q.x[-1], [0.25, -0.5])
    assert q.y[-1] == 2 and not q.test[-1]


@pytest.mark.parametrize("x, y, label, match", [
    (float("nan"), 0.0, 0, "x must be"), (0.0, float("inf"), 0, "y must be"), (1e9, 0.0, 0, "x must be"),
    ("1", 0.0, 0, "x must be"), (0.0, 0.0, 3, "label"), (0.0, 0.0, -1, "label"), (0.0, 0.0, 1.0, "label"),
])
def test_with_point_rejects_bad_input(x, y, label, match):
    p = generate(parse_settings({"points": 30}))  # 3 classes
    with pytest.raises(ValueError, match=match):
        p.with_point(x, y, label)


def test_without_nearest_removes_only_within_the_radius():
    p = from_rows([[0, 0, 0, 0], [1, 1, 1, 0], [2, 2, 0, 1]], 0.0, 0)
    assert p.without_nearest(5.0, 5.0, 0.5) is p
    q = p.without_nearest(1.1, 0.9, 0.5)
    np.testing.assert_array_equal(q.x, [[0, 0], [2, 2]])
    # The last training point stays: the network needs something to train on.
    r = q.without_nearest(0.0, 0.0, 0.5)
    assert r is q


def test_csv_round_trip_is_exact():
    p = generate(parse_settings({"points": 120, "test_share": 0.3}))
    q = parse_csv(to_csv(p).encode(), test_share=0.0, seed=99)
    np.testing.assert_array_equal(q.x, p.x)
    np.testing.assert_array_equal(q.y, p.y)
    np.testing.assert_array_equal(q.test, p.test)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4), st.integers(0, 4),
                          st.booleans()), min_size=2, max_size=60))
def test_csv_round_trip_any_points(rows):
    p = from_rows([[x, y, c, int(t)] for x, y, c, t in rows], 0.0, 0)
    q = parse_csv(to_csv(p).encode(), 0.5, 1)
    np.testing.assert_array_equal(q.x, p.x)
    np.testing.assert_array_equal(q.y, p.y)
    np.testing.assert_array_equal(q.test, p.test)
    assert q.n_classes == max(2, max(c for _, _, c, _ in rows) + 1)


def test_csv_without_header_or_split_is_split_by_share_and_seed():
    text = "".join(f"{i / 10},{-i / 10},{i % 3}\n" for i in range(40))
    a = parse_csv(text.encode(), test_share=0.25, seed=5)
    b = parse_csv(("x,y,label\n\n" + text).encode(), test_share=0.25, seed=5)
    assert a.test.sum() == 10 and a.n_classes == 3
    np.testing.assert_array_equal(a.test, b.test)
    np.testing.assert_array_equal(a.x, b.x)


@pytest.mark.parametrize("data, match", [
    (b"x,y,label\n1,2\n", "line 2: expected x,y,label"),
    (b"1,2,0\n1,abc,1\n", "line 2: x and y must be numbers"),
    (b"1,2,0\nnan,1,1\n", "line 2: x must be"),
    (b"1,2,0\n1,inf,1\n", "line 2: y must be"),
    (b"1,2,0\n1,1,5\n", "line 2: label must be"),
    (b"1,2,0\n1,1,-1\n", "line 2: label must be"),
    (b"1,2,0\n1,1,1.5\n", "line 2: label must be"),
    (b"1,2,0\n1,1,1,maybe\n", "line 2: split must be"),
    (b"1,2,0\n", "at least 2 points"),
    (b"\xff\xfe1,2,0\n", "not UTF-8"),
    (b"1,2,0\n" * (MAX_POINTS + 1), "more than"),
    (b"0" * (MAX_CSV_BYTES + 1), "limit"),
    (b"1,2,0\n1,1,0,test,extra\n", "line 2: expected"),
])
def test_bad_csv_is_refused_with_its_line(data, match):
    with pytest.raises(ValueError, match=match):
        parse_csv(data, 0.2, 0)


@pytest.mark.parametrize("rows, match", [
    ("1,2,0", "points must be a list"),
    ([[0, 0, 0]] * (MAX_POINTS + 1), "at most"),
    ([[0, 0, 0], [1, 1]], "point 1"),
    ([[0, 0, 0], [1, 1, 7]], "point 1: label"),
    ([[0, 0, 0], [1, 1, 1, 2]], "is_test"),
    ([[0, 0, 0], [1, None, 1]], "point 1: y"),
])
def test_bad_point_lists_are_refused(rows, match):
    with pytest.raises((TypeError, ValueError), match=match):
        from_rows(rows, 0.2, 0)


def test_view_box_is_square_and_holds_every_point():
    p = generate(parse_settings({"dataset": "moons", "classes": 2}))
    x0, x1, y0, y1 = p.view_box()
    assert x1 - x0 == pytest.approx(y1 - y0)
    assert (p.x[:, 0] > x0).all() and (p.x[:, 0] < x1).all()
    assert (p.x[:, 1] > y0).all() and (p.x[:, 1] < y1).all()


def test_point_set_keeps_the_class_count():
    p = PointSet(np.zeros((2, 2)), np.array([0, 1]), np.array([False, True]), 4)
    assert p.n_classes == 4 and p.train.tolist() == [True, False]
