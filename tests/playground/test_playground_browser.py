"""The page in real headless Chromium (Debian's ``chromium``, driven by playwright).

Skipped when chromium or playwright is missing; ``make test`` installs chromium.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from warpnet.playground.points import parse_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, url):
    """A page at ``url`` once its session is configured, and the list its console errors go to."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("[data-testid=train-toggle]:not([disabled])")
    page.wait_for_function("() => document.querySelector('[data-testid=point-count]').textContent !== ''")
    return page, errors


def _wait_paused(page, step=None):
    want = f"step {step} " if step is not None else "step "
    page.wait_for_function(
        "([want]) => { const s = document.getElementById('status').textContent;"
        " return s.endsWith('paused') && s.startsWith(want); }", arg=[want], timeout=20_000)


def _percent(page, testid):
    text = page.get_by_test_id(testid).text_content()
    return float(text.rstrip("%")) if text.endswith("%") else None


def _canvas(page, testid):
    return page.eval_on_selector(f"[data-testid={testid}]", "c => c.toDataURL()")


def test_spiral_trains_past_90_percent_and_the_model_downloads(live_server, browser, tmp_path):
    from warpnet import io as model_io

    base, _ = live_server
    page, errors = _open(browser, base + "/")
    page.get_by_test_id("dataset").select_option("moons")
    page.wait_for_function("() => location.hash.includes('dataset=moons')")
    page.get_by_test_id("dataset").select_option("spiral")
    page.get_by_test_id("classes").select_option("3")
    page.wait_for_function("() => location.hash.includes('dataset=spiral&classes=3')")
    before = _canvas(page, "boundary-canvas")

    page.get_by_test_id("train-toggle").click()
    seen = {before}
    deadline = time.monotonic() + 60
    accuracy = None
    while time.monotonic() < deadline:
        seen.add(_canvas(page, "boundary-canvas"))
        accuracy = _percent(page, "accuracy-test")
        if accuracy is not None and accuracy > 90 and len(seen) >= 3:
            break
        time.sleep(0.1)
    assert accuracy is not None and accuracy > 90, f"test accuracy {accuracy} after 60 s"
    assert len(seen) >= 3, "the decision regions did not change while training"

    page.get_by_test_id("train-toggle").click()
    _wait_paused(page)
    shown = page.get_by_test_id("accuracy-test").text_content()
    shot = tmp_path / "playground-trained.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    with page.expect_download() as download:
        page.get_by_test_id("download-model").click()
    model_path = tmp_path / "model.safetensors"
    download.value.save_as(model_path)
    with page.expect_download() as download:
        page.get_by_test_id("download-csv").click()
    csv_path = tmp_path / "points.csv"
    download.value.save_as(csv_path)

    saved = model_io.load(model_path)
    points = parse_csv(csv_path.read_bytes(), 0.0, 0)
    assert points.n_classes == 3 and len(points) == 300
    saved.model.eval()
    scores = saved.model.forward(points.x[points.test].astype(np.float32))
    accuracy = float(np.mean(scores.argmax(axis=1) == points.y[points.test]))
    assert f"{100 * accuracy:.1f}%" == shown
    assert errors == []


def test_a_click_adds_a_point_of_the_chosen_class(live_server, browser):
    base, app = live_server
    page, errors = _open(browser, base + "/#dataset=gauss&classes=4&points=100")
    assert page.get_by_test_id("point-count").text_content().startswith("100 points")
    page.get_by_test_id("add-class").select_option("2")
    page.get_by_test_id("boundary-canvas").click(position={"x": 90, "y": 120})
    page.wait_for_function("() => document.querySelector('[data-testid=point-count]')"
                           ".textContent.startsWith('101 points')")
    (runner,) = app.state.hub.runners.values()
    points = runner.session.points
    x0, x1, y0, y1 = points.view_box()
    size = page.eval_on_selector("[data-testid=boundary-canvas]", "c => c.clientWidth")
    assert points.y[-1] == 2 and not points.test[-1]
    np.testing.assert_allclose(points.x[-1], [x0 + 90 / size * (x1 - x0), y1 - 120 / size * (y1 - y0)],
                               atol=1e-9 * (x1 - x0) + 1e-12)
    assert "edited" in page.get_by_test_id("point-count").text_content()
    # Shift-click on the same spot removes it again.
    page.get_by_test_id("boundary-canvas").click(position={"x": 90, "y": 120}, modifiers=["Shift"])
    page.wait_for_function("() => document.querySelector('[data-testid=point-count]')"
                           ".textContent.startsWith('100 points')")
    assert errors == []


def test_a_copied_url_reproduces_the_run(live_server, browser):
    base, app = live_server
    page, errors = _open(browser, base + "/")
    page.get_by_test_id("layers").fill("3")
    page.get_by_test_id("layers").dispatch_event("change")
    page.wait_for_function("() => location.hash.includes('hidden=32%2C32%2C32')")
    page.get_by_test_id("activation-1").select_option("tanh")
    page.wait_for_function("() => location.hash.includes('activations=relu%2Ctanh%2Crelu')")
    page.get_by_test_id("lr").fill("0.03")
    page.get_by_test_id("lr").dispatch_event("change")
    page.wait_for_function("() => location.hash.includes('lr=0.03')")
    page.get_by_test_id("seed").fill("7")
    page.get_by_test_id("seed").dispatch_event("change")
    page.wait_for_function("() => location.hash.includes('seed=7')")
    page.get_by_test_id("boundary-canvas").click(position={"x": 40, "y": 300})
    page.wait_for_function("() => location.hash.includes('pts=')")
    for _ in range(5):
        page.get_by_test_id("step").click()
    _wait_paused(page, 5)
    url = page.get_by_test_id("share-url").input_value()
    assert url == page.url
    loss = page.get_by_test_id("loss").text_content()

    other, other_errors = _open(browser, url)
    for testid in ("dataset", "classes", "layers", "activation-0", "activation-1", "activation-2",
                   "lr", "seed", "optimizer", "batch"):
        assert other.get_by_test_id(testid).input_value() == page.get_by_test_id(testid).input_value()
    assert other.get_by_test_id("point-count").text_content() == \
        page.get_by_test_id("point-count").text_content()
    first, second = (r.session for r in app.state.hub.runners.values())
    assert first.settings == second.settings
    np.testing.assert_array_equal(first.points.x, second.points.x)
    np.testing.assert_array_equal(first.points.y, second.points.y)
    np.testing.assert_array_equal(first.points.test, second.points.test)
    for _ in range(5):
        other.get_by_test_id("step").click()
    _wait_paused(other, 5)
    assert other.get_by_test_id("loss").text_content() == loss
    assert errors == [] and other_errors == []


def test_bad_csv_shows_an_error_as_text_and_the_session_goes_on(live_server, browser):
    base, app = live_server
    page, errors = _open(browser, base + "/")
    hostile = b'1,2,0\n<img src=x onerror="window.pwned=1">,1,1\n'
    page.get_by_test_id("upload-csv").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": hostile}])
    page.wait_for_selector("#error:not([hidden])")
    text = page.text_content("#error-text")
    assert "line 2" in text and "<img" in text
    assert page.evaluate("document.querySelector('#error img') === null && window.pwned === undefined")
    page.get_by_test_id("step").click()
    _wait_paused(page, 1)
    # The browser logs the 400 answer itself; nothing else may go wrong.
    assert [e for e in errors if "status of 400" not in e] == []
    page.close()
    deadline = time.monotonic() + 10
    while app.state.hub.runners and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not app.state.hub.runners, "the session outlived its page"


def test_a_bad_link_shows_an_error_and_falls_back_to_the_defaults(live_server, browser):
    base, _ = live_server
    page, errors = _open(browser, base + "/#hidden=999&activations=relu&lr=abc")
    page.wait_for_selector("#error:not([hidden])")
    assert "units" in page.text_content("#error-text") or "lr" in page.text_content("#error-text")
    assert page.get_by_test_id("layers").input_value() == "2"  # the defaults
    page.get_by_test_id("step").click()
    _wait_paused(page, 1)
    assert errors == []
