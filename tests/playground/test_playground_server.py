"""The server through Starlette's TestClient: the WebSocket protocol, caps, malformed input,
CSV upload and download, the model download, static files and session lifetime."""

from __future__ import annotations

import base64
import json
import re
import time

import numpy as np
import pytest

from warpnet.nn import ACTIVATIONS
from warpnet.playground import server as server_module
from warpnet.playground.points import MAX_CSV_BYTES, parse_csv

SMALL = {"dataset": "gauss", "classes": 3, "points": 120, "hidden": [8], "activations": ["relu"],
         "lr": 0.05, "batch": 16, "warp_layer": 1}


def _until(ws, kind):
    """Messages up to and including the first of type ``kind``."""
    seen = []
    while True:
        msg = ws.receive_json()
        seen.append(msg)
        if msg["type"] == kind:
            return seen


def _configured(ws, settings=SMALL):
    welcome = ws.receive_json()
    ws.send_json({"type": "configure", "settings": settings})
    msgs = _until(ws, "status")
    state = next(m for m in msgs if m["type"] == "state")
    return welcome, state


def test_welcome_sends_the_registries(client):
    with client.websocket_connect("/ws") as ws:
        welcome = ws.receive_json()
    assert welcome["type"] == "welcome" and len(welcome["session"]) >= 20
    assert welcome["choices"]["activations"] == ACTIVATIONS.names()


def test_configure_sends_state_update_and_status(client):
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_json({"type": "configure", "settings": SMALL})
        state, update, status = ws.receive_json(), ws.receive_json(), ws.receive_json()
    assert state["type"] == "state" and len(state["points"]) == 120 and state["n_classes"] == 3
    assert state["settings"]["hidden"] == [8] and state["custom"] is False
    assert update["type"] == "update" and update["step"] == 0
    probs = base64.b64decode(update["grid"]["probs"])
    assert len(probs) == update["grid"]["size"] ** 2 * 3
    assert status == {"type": "status", "running": False, "step": 0}


def test_start_streams_updates_and_pause_stops_training(client, app):
    with client.websocket_connect("/ws") as ws:
        welcome, _ = _configured(ws)
        ws.send_json({"type": "start"})
        t0, updates = time.monotonic(), []
        while time.monotonic() - t0 < 1.5:
            msg = ws.receive_json()
            if msg["type"] == "update":
                updates.append(msg)
        assert len(updates) >= 4  # several a second, even on a busy machine
        assert len(updates) <= 1.5 / server_module.UPDATE_INTERVAL_S + 2  # and a bounded rate
        assert updates[-1]["step"] > updates[0]["step"]
        ws.send_json({"type": "pause"})
        msgs = _until(ws, "status")
        while msgs[-1]["running"]:
            msgs = _until(ws, "status")
        session = app.state.hub.runners[welcome["session"]].session
        steps = session.steps
        time.sleep(0.3)
        assert session.steps == steps == msgs[-1]["step"]


def test_step_runs_exactly_one_step(client):
    with client.websocket_connect("/ws") as ws:
        _configured(ws)
        ws.send_json({"type": "step"})
        update = _until(ws, "update")[-1]
        assert update["step"] == 1
        assert _until(ws, "status")[-1] == {"type": "status", "running": False, "step": 1}
        ws.send_json({"type": "reset"})
        msgs = _until(ws, "status")
        assert [m["step"] for m in msgs if m["type"] == "update"] == [0]


@pytest.mark.parametrize("message, match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object with a string 'type'"),
    ('{"type": 3}', "JSON object with a string 'type'"),
    ('{"type": "fly"}', "unknown message type"),
    ('{"type": "__init__"}', "unknown message type"),
    ('{"type": "configure", "settings": {"hidden": [257], "activations": ["relu"]}}', "units"),
    ('{"type": "configure", "settings": {"hidden": [2,2,2,2,2,2,2,2,2], '
     '"activations": ["relu","relu","relu","relu","relu","relu","relu","relu","relu"]}}', "hidden"),
    ('{"type": "configure", "settings": {"points": 10001}}', "points"),
    ('{"type": "configure", "settings": {"lr": "fast"}}', "lr"),
    ('{"type": "configure", "settings": {}, "points": "0,0,1"}', "points must be a list"),
    ('{"type": "add_point", "x": 0.1, "y": 0.2, "label": 9}', "label"),
    ('{"type": "add_point", "x": "NaN", "y": 0.2, "label": 0}', "x must be"),
    ('{"type": "remove_point", "x": 0, "y": 0, "radius": -1}', "radius"),
    ('{"type": "display", "warp_layer": 1, "warp_mode": "tsne"}', "warp_mode"),
    ('{"type": "display", "warp_layer": 99, "warp_mode": "pca"}', "warp_layer"),
    ('{"type": "configure", "settings": {}, "junk": "' + "x" * server_module.MAX_MESSAGE_CHARS + '"}',
     "too large"),
    ('{"type": "configure", "settings": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
])
def test_malformed_messages_get_an_error_and_the_session_keeps_working(client, message, match):
    with client.websocket_connect("/ws") as ws:
        _configured(ws)
        ws.send_text(message)
        error = ws.receive_json()
        assert error["type"] == "error"
        assert re.search(match, error["message"]), error
        ws.send_json({"type": "step"})
        assert _until(ws, "update")[-1]["step"] == 1


def test_binary_messages_are_refused(client):
    with client.websocket_connect("/ws") as ws:
        _configured(ws)
        ws.send_bytes(b"\x00\x01")
        assert "binary" in ws.receive_json()["message"]


def test_commands_before_configure_are_refused(client):
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_json({"type": "start"})
        assert "configure" in ws.receive_json()["message"]


def test_clicks_add_and_remove_points(client):
    with client.websocket_connect("/ws") as ws:
        _configured(ws)
        ws.send_json({"type": "add_point", "x": 0.3, "y": -0.4, "label": 2})
        state = _until(ws, "state")[-1]
        assert len(state["points"]) == 121 and state["points"][-1] == [0.3, -0.4, 2, 0]
        assert state["custom"] is True
        ws.send_json({"type": "remove_point", "x": 0.3, "y": -0.4, "radius": 0.01})
        state = _until(ws, "state")[-1]
        assert len(state["points"]) == 120 and [0.3, -0.4, 2, 0] not in state["points"]


def test_points_in_configure_reproduce_a_shared_run(client):
    with client.websocket_connect("/ws") as ws:
        _, state = _configured(ws)
        rows = state["points"][:50]
        ws.send_json({"type": "configure", "settings": SMALL, "points": rows})
        msgs = _until(ws, "status")
    state2 = next(m for m in msgs if m["type"] == "state")
    assert state2["points"] == rows and state2["custom"] is True


def test_csv_download_and_upload(client):
    with client.websocket_connect("/ws") as ws:
        welcome, state = _configured(ws)
        sid = welcome["session"]
        r = client.get(f"/api/session/{sid}/points.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        points = parse_csv(r.content, 0.0, 0)
        np.testing.assert_array_equal(points.x, [p[:2] for p in state["points"]])
        assert points.test.tolist() == [bool(p[3]) for p in state["points"]]

        upload = "x,y,label\n" + "".join(f"{i / 20},{(i % 7) / 7},{i % 4}\n" for i in range(40))
        r = client.post(f"/api/session/{sid}/points", content=upload.encode())
        assert r.status_code == 200 and r.json() == {"points": 40, "classes": 4}
        state = _until(ws, "state")[-1]
        assert len(state["points"]) == 40 and state["n_classes"] == 4
        update = _until(ws, "update")[-1]
        assert len(update["confusion"]) == 4

        r = client.post(f"/api/session/{sid}/points", content=b"1,2,0\n<b>bold</b>,1,1\n")
        assert r.status_code == 400 and "line 2" in r.json()["error"]
        r = client.post(f"/api/session/{sid}/points", content=b"1,2,0\n" * (MAX_CSV_BYTES // 6 + 1))
        assert r.status_code == 413
        # The session still works, with the uploaded points.
        _until(ws, "status")
        ws.send_json({"type": "step"})
        assert len(_until(ws, "update")[-1]["confusion"]) == 4


def test_unknown_sessions_are_not_found(client):
    for path in ("/api/session/nope/points.csv", "/api/session/nope/model"):
        assert client.get(path).status_code == 404
    assert client.post("/api/session/nope/points", content=b"1,1,0\n2,2,1\n").status_code == 404


def test_model_download_loads_and_gives_the_same_accuracy(client, tmp_path):
    from warpnet import io as model_io

    with client.websocket_connect("/ws") as ws:
        welcome, _ = _configured(ws)
        for _ in range(30):
            ws.send_json({"type": "step"})
        while True:
            msgs = _until(ws, "status")
            if msgs[-1]["step"] == 30:
                break
        update = [m for m in msgs if m["type"] == "update"][-1]
        sid = welcome["session"]
        model_bytes = client.get(f"/api/session/{sid}/model")
        points = parse_csv(client.get(f"/api/session/{sid}/points.csv").content, 0.0, 0)
    assert model_bytes.status_code == 200
    path = tmp_path / "model.safetensors"
    path.write_bytes(model_bytes.content)
    saved = model_io.load(path)
    assert saved.class_names == ["0", "1", "2"]
    assert saved.metadata["steps"] == 30 and saved.metadata["settings"]["hidden"] == [8]
    saved.model.eval()
    scores = saved.model.forward(points.x[points.test].astype(np.float32))
    accuracy = float(np.mean(scores.argmax(1) == points.y[points.test]))
    assert accuracy == pytest.approx(update["test"]["accuracy"], abs=1e-12)


def test_closing_the_socket_drops_the_session(client, app):
    hub = app.state.hub
    with client.websocket_connect("/ws") as ws:
        welcome, _ = _configured(ws)
        ws.send_json({"type": "start"})
        _until(ws, "update")
        session = hub.runners[welcome["session"]].session
    deadline = time.monotonic() + 5
    while hub.runners and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not hub.runners and not hub.training
    time.sleep(0.15)  # a slice in flight when the socket closed may finish
    steps = session.steps
    time.sleep(0.3)
    assert session.steps == steps
    assert client.get(f"/api/session/{welcome['session']}/model").status_code == 404


def test_the_session_cap(client, monkeypatch):
    monkeypatch.setattr(server_module, "MAX_SESSIONS", 1)
    with client.websocket_connect("/ws") as first:
        first.receive_json()
        with client.websocket_connect("/ws") as second:
            msg = second.receive_json()
            assert msg["type"] == "error" and "busy" in msg["message"]


def test_other_sites_cannot_open_a_session(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()


def test_page_and_assets_are_served_with_a_strict_policy(client):
    r = client.get("/")
    assert r.status_code == 200 and 'data-testid="boundary-canvas"' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "http://" not in r.text and "https://" not in r.text  # no CDN
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
        assert "http://" not in r.text and "https://" not in r.text


@pytest.mark.parametrize("path", [
    "/static/server.py", "/static/../server.py", "/static/..%2Fserver.py", "/static/%2e%2e/__init__.py",
    "/static/..%2F..%2F..%2Fpyproject.toml", "/static/", "/server.py",
    "/api/session/..%2F..%2Fetc/model",
])
def test_no_other_file_can_be_read(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "import" not in r.text


def test_the_page_never_renders_text_as_html():
    from importlib import resources

    js = resources.files("warpnet.playground").joinpath("static", "app.js").read_text()
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
    assert "eval(" not in js and "document.write" not in js


def test_serve_validates_its_arguments():
    with pytest.raises(ValueError, match="port"):
        server_module.serve(port=70000)
    with pytest.raises(TypeError, match="host"):
        server_module.serve(host="")


def test_serve_on_a_taken_port_or_unknown_host_raises_one_oserror():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=rf"cannot listen on 127\.0\.0\.1:{port}: .*in use"):
            server_module.serve(port=port)
    with pytest.raises(OSError, match=r"cannot listen on no-such-host\.invalid:0"):
        server_module.serve(host="no-such-host.invalid", port=0)


def test_messages_are_plain_json_without_nan(client):
    with client.websocket_connect("/ws") as ws:
        _configured(ws)
        ws.send_json({"type": "step"})
        raw = ws.receive_text()

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    assert json.loads(raw, parse_constant=refuse)["type"] == "update"


def test_serve_prints_its_loopback_url_and_serves_the_page():
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-u", "-c",
                             "from warpnet.playground import serve; serve(port=0)"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"warpnet playground: (http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1), timeout=10) as response:
            assert response.status == 200 and b"boundary-canvas" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_display_changes_the_warp_view_without_resetting(client):
    with client.websocket_connect("/ws") as ws:
        _configured(ws, {**SMALL, "hidden": [8, 5], "activations": ["relu", "tanh"], "warp_layer": 2})
        for _ in range(3):
            ws.send_json({"type": "step"})
        while _until(ws, "status")[-1]["step"] != 3:
            pass
        ws.send_json({"type": "display", "warp_layer": 1, "warp_mode": "units"})
        update = ws.receive_json()
    assert update["type"] == "update" and update["step"] == 3
    assert update["warp"]["layer"] == 1 and update["warp"]["mode"] == "units"
    points = np.frombuffer(base64.b64decode(update["warp"]["points"]), "<f4").reshape(-1, 2)
    assert len(points) == 120 and (points >= 0).all()  # ReLU units are never negative
