"""``yume-gym serve``: explore a generated world from a web page, for a GPU on another machine.

Streams the frames to a page over a websocket; the same controller and keys as ``yume-gym
play`` run the world. It binds to 127.0.0.1; for a remote GPU, forward the port through SSH::

    ssh -L 8765:127.0.0.1:8765 gpu-host      # then browse http://127.0.0.1:8765

Needs aiohttp: ``pip install "yume-gym[play]"``. Access checks and recording: docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from yume_gym.events import MAX_EVENT_CHARS
from yume_gym.commands.play.controller import PlayController
from yume_gym.commands.play.held_keys import PLAY_KEYS
from yume_gym.commands.play.optional import import_play_dependency
from yume_gym.commands.play.protocol import MAX_MESSAGE_BYTES, Command, parse_message
from yume_gym.commands.play.session import WorldArgs, open_controller
from yume_gym.options import option
from yume_gym.options import parse_args as parse_options

PAGE_DIR = Path(__file__).with_name("page")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
DEFAULT_PORT = 8765
POLL_S = 0.01  # how often playback is advanced; frames still change at the model's fps
STATUS_EVERY_S = 0.25
MAX_RECORD_FRAMES = 16 * 60 * 10  # ten minutes of video at 16 fps


@dataclass
class ServeArgs(WorldArgs):
    """``yume-gym serve``'s options: the world's, and the page's."""

    host: str = option("127.0.0.1", "address to bind (default: this machine only)")
    port: int = option(DEFAULT_PORT, "port to bind (0: any free port)")
    jpeg_quality: int = option(85, "JPEG quality of the streamed frames, 1-95")
    allow_host: list[str] = option([], "another host name the page may be opened under (repeatable)",
                                   action="append", metavar="NAME")
    allow_recording: bool = option(False, "let pages record videos to --save-dir on this machine (off by default)")
    max_record_frames: int = option(MAX_RECORD_FRAMES, "frames recorded from the page in all, after which recording stops")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port {self.port} must be in 0..65535")
        if self.max_record_frames < 1:
            raise ValueError(f"--max-record-frames {self.max_record_frames} must be >= 1")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"--jpeg-quality {self.jpeg_quality} must be in 1..95")


def parse_args(argv: list[str] | None) -> ServeArgs:
    """``yume-gym serve``'s options."""
    return parse_options(ServeArgs, argv, "yume-gym serve", __doc__)


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    """``frame`` (H, W, 3) uint8 as JPEG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class _Client:
    """One page's websocket: the latest frame and status wait here until the link takes them.

    A slow link skips frames instead of queueing them, so it never delays the other pages.
    """

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frame: bytes | None = None
        self.status: str | None = None
        self.wake = asyncio.Event()

    def offer(self, frame: bytes | None = None, status: str | None = None) -> None:
        if frame is not None:
            self.frame = frame
        if status is not None:
            self.status = status
        self.wake.set()

    async def send_loop(self) -> None:
        try:
            while not self.ws.closed:
                await self.wake.wait()
                self.wake.clear()
                frame, status, self.frame, self.status = self.frame, self.status, None, None
                if frame is not None:
                    await self.ws.send_bytes(frame)
                if status is not None:
                    await self.ws.send_str(status)
        except ConnectionError:
            pass  # the page went away; its handler cleans up


class PlayServer:
    """The web front end of a :class:`PlayController`: :meth:`app` is the aiohttp application.

    The controller starts with the application and is closed with it. The websocket refuses
    pages of another origin and requests whose Host header is not in ``allowed_hosts`` (a web
    page that rebinds its own name to this machine cannot drive the world); the record message
    is refused unless ``allow_recording``.
    """

    def __init__(self, controller: PlayController, jpeg_quality: int = 85,
                 allowed_hosts: frozenset[str] = frozenset(LOCAL_HOSTS), allow_recording: bool = False) -> None:
        self.web = import_play_dependency("aiohttp.web")
        self.controller = controller
        self.jpeg_quality = jpeg_quality
        self.allowed_hosts = allowed_hosts
        self.allow_recording = allow_recording
        self.clients: set[_Client] = set()
        self._stream_task: asyncio.Task | None = None

    def app(self) -> Any:
        """The aiohttp application: the page at /, its files under /static/, the websocket at /ws."""
        web = self.web
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_static("/static", PAGE_DIR)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: Any) -> None:
        self.controller.start()
        self._stream_task = asyncio.create_task(self._stream())

    async def _stop(self, app: Any) -> None:
        self._stream_task.cancel()
        await asyncio.to_thread(self.controller.close)

    async def _index(self, request: Any) -> Any:
        return self.web.FileResponse(PAGE_DIR / "index.html")

    # -------------------------------------------------------------------------- websocket
    async def _websocket(self, request: Any) -> Any:
        web = self.web
        refusal = _refusal(request, self.allowed_hosts)
        if refusal is not None:
            return web.Response(status=403, text=refusal)
        # No per-message deflate: the frames are JPEGs already.
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=30, compress=False)
        await ws.prepare(request)
        client = _Client(ws)
        self.clients.add(client)
        sender = asyncio.create_task(client.send_loop())
        model = self.controller.env.unwrapped.model
        hello = {"type": "hello", "keys": list(PLAY_KEYS), "max_event_chars": MAX_EVENT_CHARS,
                 "model": model.describe(), "fps": self.controller.model_fps}
        try:
            await ws.send_str(json.dumps(hello))
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    await self._receive(ws, message.data)
                elif message.type == web.WSMsgType.BINARY:
                    await self._refuse(ws, "binary message refused; send JSON text")
        finally:
            self.clients.discard(client)
            sender.cancel()
            self.controller.release_all()  # keys held on a page that left would stay down
        return ws

    async def _receive(self, ws: Any, text: str) -> None:
        try:
            self._apply(parse_message(text))
        except (ValueError, RuntimeError) as err:  # a ProtocolError, or no recorder to switch
            await self._refuse(ws, str(err))

    async def _refuse(self, ws: Any, reason: str) -> None:
        await ws.send_str(json.dumps({"type": "error", "message": reason}))

    def _apply(self, command: Command) -> None:
        controller = self.controller
        if command.kind == "keys":
            controller.set_held(command.value)
        elif command.kind == "event":
            controller.set_event(command.value)
        elif command.kind == "reset":
            controller.request_reset()
        elif command.kind == "pause":
            controller.toggle_pause()
        elif command.kind == "record":
            if not self.allow_recording:
                raise ValueError("recording from the page is off; start the server with --allow-recording")
            controller.toggle_recording()

    # --------------------------------------------------------------------------- streaming
    async def _stream(self) -> None:
        """Advance playback while a page is open; send each new frame and the status to all pages."""
        loop = asyncio.get_running_loop()
        next_status = 0.0
        while True:
            await asyncio.sleep(POLL_S)
            if not self.clients:
                continue  # nobody watching: playback holds, so generation waits too
            frame = self.controller.frame() if self.controller.advance() else None
            if frame is not None:
                data = await asyncio.to_thread(encode_jpeg, frame, self.jpeg_quality)
                for client in list(self.clients):
                    client.offer(frame=data)
            if loop.time() >= next_status:
                next_status = loop.time() + STATUS_EVERY_S
                status = self.controller.status()
                text = json.dumps({"type": "status", **dataclasses.asdict(status), "lines": status.lines()})
                for client in list(self.clients):
                    client.offer(status=text)


def _refusal(request: Any, allowed_hosts: frozenset[str]) -> str | None:
    """Why a websocket request is refused, or None to accept it.

    Refused: a Host header whose name is not in ``allowed_hosts``, and an Origin header other
    than this server's own page, scheme included (another site's page). Clients that are not
    browsers send no Origin and are accepted.
    """
    hostname = (urlsplit(f"//{request.host}").hostname or "").lower()
    if hostname not in allowed_hosts:
        return f"host {request.host!r} refused: this server answers to {', '.join(sorted(allowed_hosts))} only"
    origin = request.headers.get("Origin")
    if origin is not None and origin.lower().rstrip("/") != f"{request.scheme}://{request.host}".lower():
        return f"websocket from the origin {origin!r} refused: open the page from this server"
    return None


def allowed_host_names(host: str, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The Host names a server bound to ``host`` answers to: the loopback names, ``host`` itself
    unless it is a wildcard address, this machine's name for a wildcard, and ``extra``."""
    names = set(LOCAL_HOSTS) | {name.lower() for name in extra}
    if host in WILDCARD_HOSTS:
        names.add(socket.gethostname().lower())
    else:
        names.add(host.strip("[]").lower())
    return frozenset(names)


async def start_server(controller: PlayController, host: str, port: int, jpeg_quality: int = 85,
                       allow_hosts: tuple[str, ...] = (), allow_recording: bool = False) -> tuple[Any, str]:
    """Start serving ``controller`` on ``host``:``port`` (0: a free port); returns (runner, page URL).

    The server answers to :func:`allowed_host_names` only. ``await runner.cleanup()`` stops the
    server and closes the controller.
    """
    server = PlayServer(controller, jpeg_quality, allowed_host_names(host, allow_hosts), allow_recording)
    runner = server.web.AppRunner(server.app())
    await runner.setup()
    try:
        await server.web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{_url_host(bound_host)}:{bound_port}/"


async def serve(controller: PlayController, args: ServeArgs) -> None:
    """Serve ``controller`` as ``args`` say until cancelled."""
    runner, url = await start_server(controller, args.host, args.port, args.jpeg_quality,
                                     tuple(args.allow_host), args.allow_recording)
    print(f"serving on {url}  (Ctrl+C stops)")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym serve``; returns the exit status."""
    args = parse_args(argv)
    import_play_dependency("aiohttp")  # fail with the install hint before loading a model
    if args.host not in LOCAL_HOSTS:
        print(f"warning: binding {args.host}: the page has no login, so anyone who can reach this address "
              "can drive the world; prefer the default 127.0.0.1 with an SSH tunnel. The page answers to "
              f"{', '.join(sorted(allowed_host_names(args.host, tuple(args.allow_host))))} only: add the name "
              "or address you browse to with --allow-host", file=sys.stderr)
    controller = open_controller(args, max_record_frames=args.max_record_frames)
    model = controller.env.unwrapped.model
    print(model.describe())
    if not model.is_trained:
        print("note: the trained embedded weights are not installed; these frames come from random weights")
    try:
        asyncio.run(serve(controller, args))
    except KeyboardInterrupt:
        pass
    return 0
