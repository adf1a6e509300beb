"""The playground's web server: a Starlette app, one training session per WebSocket connection.

Routes (nothing else is served):

- ``GET /`` and ``GET /static/{name}``: the page and its assets, from a fixed list of files in the
  package's ``static`` folder (the name is looked up in that list, never joined to a path).
- ``WS /ws``: the session.  The server sends ``welcome`` (session id and the registries' choices),
  then ``state`` (points and settings) whenever they change, ``update`` (metrics, heat map, warp
  view) after every training slice, ``status`` and ``error``.  The page sends JSON objects with a
  ``type``: ``configure``, ``start``, ``pause``, ``step``, ``reset``, ``add_point``,
  ``remove_point``, ``display``.
- ``GET /api/session/{id}/points.csv``, ``POST /api/session/{id}/points`` (CSV body) and
  ``GET /api/session/{id}/model``: download the points, upload points, download the trained model
  (a warpnet model file).  The id is an unguessable token known only to the page that opened the
  session; it indexes an in-memory table, not the file system.

Training runs in a small shared thread pool, one slice per session at a time, so sessions take
turns fairly and the event loop stays free to move messages.  Each slice trains for a share of
``TRAIN_BUDGET_S`` (divided among the sessions that are training) and ends with a snapshot; a
session sends at most one update per ``UPDATE_INTERVAL_S``.  When the socket closes the session's
tasks are cancelled and it is forgotten: no slice is scheduled for it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .points import MAX_CSV_BYTES, from_rows, parse_csv, to_csv
from .session import TrainingSession
from .settings import MAX_LAYERS, WARP_MODES, choices, parse_settings

MAX_SESSIONS = 64
MAX_MESSAGE_CHARS = 1_000_000  # a full 10,000-point list fits in about 300 kB of JSON
UPDATE_INTERVAL_S = 0.1  # at most ten updates a second per session
TRAIN_BUDGET_S = 0.06  # most training time per update (one session alone on the server)
LATE_INTERVAL_S = 0.15  # updates further apart than this shrink the training time per slice
MAX_QUEUED_STEPS = 100

_ASSETS = {  # name -> media type; the only files the server ever reads
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


class _Runner:
    """One connection's session, its lock and its training loop."""

    def __init__(self, ws: WebSocket, hub: _Hub) -> None:
        self.id = secrets.token_urlsafe(18)
        self.ws = ws
        self.hub = hub
        self.session: TrainingSession | None = None
        self.lock = asyncio.Lock()  # one call on the session at a time
        self.send_lock = asyncio.Lock()  # one message on the socket at a time
        self.running = False
        self.queued_steps = 0
        self.wake = asyncio.Event()
        # Bumped whenever the points or weights are replaced, so that an update computed before
        # the change is dropped rather than drawn over the new state.
        self.generation = 0
        self.budget = TRAIN_BUDGET_S  # training seconds per slice, adapted to the load

    # -- plumbing ------------------------------------------------------------------------------
    async def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` (which uses the session) in the pool, never two at once."""
        async with self.lock:
            return await asyncio.get_running_loop().run_in_executor(self.hub.pool, fn, *args)

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else _json(message)
        async with self.send_lock:
            if self.ws.application_state != WebSocketState.CONNECTED:
                return
            try:
                await self.ws.send_text(text)
            except WebSocketDisconnect:
                # The page went away mid-send; the reader sees the close and ends the session.
                return

    async def send_error(self, message: str) -> None:
        await self.send({"type": "error", "message": message})

    async def send_status(self) -> None:
        step = self.session.steps if self.session else 0
        await self.send({"type": "status", "running": self.running, "step": step})

    async def send_state_and_update(self) -> None:
        session = self._session()
        text_state, text_update = await self.call(
            lambda: (_json(session.state()), _json(session.snapshot())))
        await self.send(text_state)
        await self.send(text_update)

    def _session(self) -> TrainingSession:
        if self.session is None:
            raise ValueError("configure the session first (send a 'configure' message)")
        return self.session

    # -- training loop -------------------------------------------------------------------------
    def _slice(self, steps: int, budget: float) -> str:
        session = self._session()
        if steps:
            for _ in range(steps):
                session.step()
        else:
            session.train_for(budget)
        return _json(session.snapshot())

    def _adapt_budget(self, period: float) -> None:
        """Trade training speed for update rate: when the server is busy and updates come late,
        train for less per slice (down to one step); when they come on time, train for more."""
        if period > LATE_INTERVAL_S:
            self.budget = max(0.0, self.budget * 0.6)
        elif period < 1.1 * UPDATE_INTERVAL_S:
            self.budget = min(TRAIN_BUDGET_S, max(self.budget, 0.001) * 1.2)

    async def train_loop(self) -> None:
        loop = asyncio.get_running_loop()
        previous: float | None = None  # when the previous slice of an uninterrupted run started
        while True:
            await self.wake.wait()
            if not self.running and not self.queued_steps:
                self.wake.clear()
                previous = None
                await self.send_status()
                continue
            started = loop.time()
            steps, self.queued_steps = (0, 0) if self.running else (self.queued_steps, 0)
            if not self.hub.training:
                self.budget = TRAIN_BUDGET_S
            elif self.id not in self.hub.training:  # start from a fair share of a busy server
                self.budget = TRAIN_BUDGET_S / (len(self.hub.training) + 1)
            self.hub.training.add(self.id)
            if previous is not None:
                self._adapt_budget(started - previous)
            previous = started
            budget = self.budget
            generation = self.generation
            try:
                update = await self.call(self._slice, steps, budget)
            except ValueError as err:  # the loss saw NaN/inf scores: the run diverged
                await self._stop(f"training stopped: {err}. Lower the learning rate and reset.")
                continue
            except Exception as err:  # keep the session usable; the page shows what went wrong
                await self._stop(f"training stopped: {type(err).__name__}: {err}")
                continue
            if not self.running:
                self.hub.training.discard(self.id)
            if generation == self.generation:
                await self.send(update)
            # Bound the update rate: a fast slice waits out the rest of the interval.
            await asyncio.sleep(max(0.0, UPDATE_INTERVAL_S - (loop.time() - started)))

    async def _stop(self, message: str) -> None:
        self.running = False
        self.hub.training.discard(self.id)
        await self.send_error(message)

    # -- messages from the page ----------------------------------------------------------------
    async def handle(self, text: str) -> None:
        if len(text) > MAX_MESSAGE_CHARS:
            raise ValueError(f"message too large ({len(text)} characters; the limit is "
                             f"{MAX_MESSAGE_CHARS})")
        try:
            msg = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"message is not valid JSON: {err.msg} at position {err.pos}") from None
        except RecursionError:
            raise ValueError("message is nested too deeply") from None
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise ValueError("message must be a JSON object with a string 'type'")
        handler = getattr(self, "on_" + msg["type"], None) if msg["type"].isidentifier() else None
        if handler is None:
            raise ValueError(f"unknown message type {msg['type'][:40]!r}")
        await handler(msg)

    async def on_configure(self, msg: dict) -> None:
        settings = parse_settings(msg.get("settings", {}))
        points = None
        if msg.get("points") is not None:
            points = from_rows(msg["points"], settings.test_share, settings.seed)
        self.running = False
        self.generation += 1
        if self.session is None:
            self.session = await self.call(TrainingSession, settings, points)
        else:
            await self.call(self.session.configure, settings, points)
        await self.send_state_and_update()
        await self.send_status()

    async def on_start(self, msg: dict) -> None:
        self._session()
        self.running = True
        self.wake.set()
        await self.send_status()

    async def on_pause(self, msg: dict) -> None:
        self.running = False
        self.wake.set()  # the loop reports "paused" once its slice in flight has finished

    async def on_step(self, msg: dict) -> None:
        self._session()
        self.queued_steps = min(self.queued_steps + 1, MAX_QUEUED_STEPS)
        self.wake.set()

    async def on_reset(self, msg: dict) -> None:
        session = self._session()
        self.running = False
        self.queued_steps = 0
        self.generation += 1
        await self.call(session.reset)
        await self.send_state_and_update()
        await self.send_status()

    async def on_add_point(self, msg: dict) -> None:
        session = self._session()
        await self.call(lambda: session.set_points(
            session.points.with_point(msg.get("x"), msg.get("y"), msg.get("label"))))
        await self.send_state_and_update()

    async def on_remove_point(self, msg: dict) -> None:
        session = self._session()
        radius = msg.get("radius")
        if isinstance(radius, bool) or not isinstance(radius, int | float) or not 0 < radius <= 1e4:
            raise ValueError(f"radius must be a number in (0, 10000], got {radius!r}")
        await self.call(lambda: session.set_points(
            session.points.without_nearest(msg.get("x"), msg.get("y"), float(radius))))
        await self.send_state_and_update()

    async def on_display(self, msg: dict) -> None:
        session = self._session()
        layer, mode = msg.get("warp_layer"), msg.get("warp_mode")
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= MAX_LAYERS:
            raise ValueError(f"warp_layer must be an integer in [0, {MAX_LAYERS}], got {layer!r}")
        if mode not in WARP_MODES:
            raise ValueError(f"warp_mode must be one of {', '.join(WARP_MODES)}, got {mode!r}")
        await self.call(session.set_display, layer, mode)
        await self.send(await self.call(lambda: _json(session.snapshot())))

    async def reader(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                if text is None:
                    raise ValueError("binary messages are not accepted; send JSON text")
                await self.handle(text)
            except (ValueError, TypeError) as err:
                await self.send_error(str(err))


class _Hub:
    """The live sessions of one app, and the pool their training slices run in."""

    def __init__(self, workers: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="playground")
        self.runners: dict[str, _Runner] = {}
        self.training: set[str] = set()

    def runner(self, session_id: str) -> _Runner | None:
        return self.runners.get(session_id)


def _asset_response(name: str) -> Response:
    content = resources.files(__package__).joinpath("static", name).read_bytes()
    return Response(content, media_type=_ASSETS[name], headers=_SECURITY_HEADERS)


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"error": f"no such {what}"}, status_code=404, headers=_SECURITY_HEADERS)


def create_app(*, workers: int | None = None) -> Starlette:
    """The playground as an ASGI app (serve it with uvicorn, or test it with Starlette's
    ``TestClient``).

    Args:
        workers: threads that run training slices; default ``min(4, cpu count)``.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    hub = _Hub(workers or min(4, os.cpu_count() or 1))

    async def index(request: Request) -> Response:
        return _asset_response("index.html")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        return _asset_response(name) if name in _ASSETS else _not_found("file")

    async def points_csv(request: Request) -> Response:
        runner = hub.runner(request.path_params["sid"])
        if runner is None or runner.session is None:
            return _not_found("session")
        session = runner.session
        text = await runner.call(lambda: to_csv(session.points))
        return Response(text, media_type="text/csv; charset=utf-8", headers={
            **_SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="points.csv"'})

    async def upload_points(request: Request) -> Response:
        runner = hub.runner(request.path_params["sid"])
        if runner is None or runner.session is None:
            return _not_found("session")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CSV_BYTES:
                message = f"the CSV file is larger than the limit of {MAX_CSV_BYTES} bytes"
                return JSONResponse({"error": message}, status_code=413, headers=_SECURITY_HEADERS)
        session = runner.session
        try:
            points = parse_csv(bytes(body), session.settings.test_share, session.settings.seed)
        except ValueError as err:
            return JSONResponse({"error": str(err)}, status_code=400, headers=_SECURITY_HEADERS)
        runner.running = False
        runner.generation += 1
        def replace_points() -> None:
            session.set_points(points)
            session.reset()

        await runner.call(replace_points)
        await runner.send_state_and_update()
        await runner.send_status()
        return JSONResponse({"points": len(points), "classes": points.n_classes},
                            headers=_SECURITY_HEADERS)

    async def model_file(request: Request) -> Response:
        runner = hub.runner(request.path_params["sid"])
        if runner is None or runner.session is None:
            return _not_found("session")
        data = await runner.call(_model_bytes, runner.session)
        return Response(data, media_type="application/octet-stream", headers={
            **_SECURITY_HEADERS,
            "Content-Disposition": 'attachment; filename="playground-model.safetensors"'})

    async def websocket(ws: WebSocket) -> None:
        origin, host = ws.headers.get("origin"), ws.headers.get("host")
        # A page from another site must not drive a session (cross-site WebSocket hijacking).
        if origin is not None and origin.split("://", 1)[-1] != host:
            await ws.close(code=1008)
            return
        await ws.accept()
        if len(hub.runners) >= MAX_SESSIONS:
            await ws.send_text(_json({"type": "error", "message":
                                      f"the server is busy ({MAX_SESSIONS} sessions); try later"}))
            await ws.close(code=1013)
            return
        runner = _Runner(ws, hub)
        hub.runners[runner.id] = runner
        trainer = asyncio.create_task(runner.train_loop())
        try:
            await runner.send({"type": "welcome", "session": runner.id, "choices": choices()})
            await runner.reader()
        except WebSocketDisconnect:
            pass
        finally:
            trainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trainer
            runner.running = False
            hub.training.discard(runner.id)
            hub.runners.pop(runner.id, None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        hub.pool.shutdown(wait=False, cancel_futures=True)

    app = Starlette(lifespan=lifespan, routes=[
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/session/{sid}/points.csv", points_csv),
        Route("/api/session/{sid}/points", upload_points, methods=["POST"]),
        Route("/api/session/{sid}/model", model_file),
        WebSocketRoute("/ws", websocket),
    ])
    app.state.hub = hub
    return app


def _model_bytes(session: TrainingSession) -> bytes:
    """The session's network as a warpnet model file (the bytes ``warpnet.io.save`` writes)."""
    from .. import io as model_io

    metadata = {"source": "warpnet playground", "settings": session.settings.to_dict(),
                "steps": session.steps}
    class_names = [str(k) for k in range(session.points.n_classes)]
    return model_io.dumps(session.model, class_names=class_names, metadata=metadata)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Run the playground until interrupted (blocking) and print its URL.

    Args:
        host: interface to bind; the loopback default keeps the page private to this machine.
        port: TCP port, 0..65535 (0 picks a free one).
        open_browser: open the page in the default web browser once the server is up.

    Raises:
        TypeError / ValueError: a bad host or port.
        OSError: the address cannot be listened on (an unknown host, a port already taken); the
            message names the address.
    """
    import uvicorn

    if not isinstance(host, str) or not host:
        raise TypeError(f"host must be a non-empty string, got {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in [0, 65535], got {port!r}")
    # Bind here, not inside uvicorn: uvicorn logs a failed bind and calls sys.exit, where this
    # raises one OSError that names the address.
    config = uvicorn.Config(create_app(), host=host, port=port, log_level="warning",
                            ws_max_size=16 * MAX_MESSAGE_CHARS)
    sock = _listen(host, port)
    server = uvicorn.Server(config)
    shown_host = f"[{host}]" if ":" in host else host

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                await task  # re-raise a start-up error
                return
            await asyncio.sleep(0.05)
        bound = sock.getsockname()[1]
        url = f"http://{shown_host}:{bound}/"
        print(f"warpnet playground: {url}  (Ctrl+C to stop)", flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"note: bound to {host}; other machines on the network can reach this page",
                  flush=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        await task

    from threadpoolctl import threadpool_limits

    # One BLAS thread per training thread while serving: sessions already run side by side, and
    # a multi-threaded BLAS on these small matrices only adds contention (a 3866x32 @ 32x32
    # product measured 60 times slower with two spinning BLAS threads on a busy two-core machine).
    with threadpool_limits(limits=1, user_api="blas"), sock:
        asyncio.run(run())


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv4 or IPv6, as ``host`` resolves).

    Raises:
        OSError: the host does not resolve or the port cannot be bound.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise OSError(f"cannot listen on {where}: {exc.strerror or exc}") from None


__all__ = ["create_app", "serve"]
