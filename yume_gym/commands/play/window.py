"""``yume-gym play``: explore a generated world in a window, with the keyboard.

W, A, S, D move and the arrow keys look while held; T types an event (Enter applies, Esc
clears), R restarts, P pauses, V records under ``--save-dir``, F12 saves a screenshot, Q quits.
Frames of one chunk play while the next is generated. Needs pygame:
``pip install "yume-gym[play]"``. The keys and the HUD in full: docs/architecture.md.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from yume_gym.events import MAX_EVENT_CHARS
from yume_gym.commands.play.controller import PlayController
from yume_gym.commands.play.optional import import_play_dependency
from yume_gym.commands.play.session import WorldArgs, open_controller
from yume_gym.options import parse_args as parse_options

TICK_HZ = 60  # window updates per second; playback keeps the model's fps
HUD_FONT_PX = 15
HELP = ["WASD move  arrows look  T event  Esc clear", "R reset  P pause  V record  F12 screenshot  Q quit"]
WAITING = "generating the first chunk..."


def parse_args(argv: list[str] | None) -> WorldArgs:
    """``yume-gym play``'s options."""
    return parse_options(WorldArgs, argv, "yume-gym play", __doc__)


def hud_font_path() -> str:
    """DejaVu Sans, the font matplotlib ships: it has the arrow glyphs of the action labels."""
    import matplotlib  # a yume-gym dependency; imported here only for its font file

    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")


class PlayWindow:
    """A pygame window over a :class:`PlayController`: keyboard in, frames and HUD out.

    ``tick()`` handles the pending pygame events, advances playback and redraws; ``run()``
    ticks until the player quits. ``save_dir`` receives the F12 screenshots.
    """

    def __init__(self, controller: PlayController, save_dir: str | os.PathLike = ".") -> None:
        self.pg = pg = import_play_dependency("pygame")
        self.controller = controller
        self.save_dir = Path(save_dir)
        self.play_keys = {pg.K_w: "W", pg.K_a: "A", pg.K_s: "S", pg.K_d: "D",
                          pg.K_LEFT: "LEFT", pg.K_RIGHT: "RIGHT", pg.K_UP: "UP", pg.K_DOWN: "DOWN"}
        self.typing: str | None = None  # the event box's text while it is open
        self.running = True
        self.screenshots: list[Path] = []
        pg.display.init()
        pg.font.init()
        pg.display.set_caption("yume-gym play")
        self.screen = pg.display.set_mode((512, 512))
        pg.key.stop_text_input()  # text input only while the event box is open
        self.font = pg.font.Font(hud_font_path(), HUD_FONT_PX)
        self.clock = pg.time.Clock()

    def run(self) -> None:
        """Tick at :data:`TICK_HZ` until the player quits."""
        while self.tick():
            self.clock.tick(TICK_HZ)

    def tick(self) -> bool:
        """Handle input, advance playback, redraw; False once the player has quit."""
        for event in self.pg.event.get():
            self.handle(event)
        self.controller.advance()
        self.draw()
        return self.running

    # ------------------------------------------------------------------------------ input
    def handle(self, event: Any) -> None:
        """React to one pygame event."""
        pg = self.pg
        if event.type == pg.QUIT:
            self.running = False
        elif event.type == pg.TEXTINPUT and self.typing is not None:
            self.typing = (self.typing + event.text)[:MAX_EVENT_CHARS]
        elif event.type == pg.KEYDOWN:
            self._key_down(event.key)
        elif event.type == pg.KEYUP and event.key in self.play_keys:
            self.controller.release(self.play_keys[event.key])

    def _key_down(self, key: int) -> None:
        pg, controller = self.pg, self.controller
        if self.typing is not None:
            self._type(key)
        elif key in self.play_keys:
            controller.press(self.play_keys[key])
        elif key == pg.K_t:
            self.typing = ""
            controller.release_all()  # the box takes the letters from here on
            pg.key.start_text_input()
        elif key == pg.K_ESCAPE:
            controller.set_event(None)
        elif key == pg.K_r:
            controller.request_reset()
        elif key == pg.K_p:
            controller.toggle_pause()
        elif key == pg.K_v:
            controller.toggle_recording()
        elif key == pg.K_F12:
            self.screenshot()
        elif key == pg.K_q:
            self.running = False

    def _type(self, key: int) -> None:
        """A key while the event box is open: Enter applies, Esc clears, Backspace deletes."""
        pg = self.pg
        if key == pg.K_BACKSPACE:
            self.typing = self.typing[:-1]
        elif key in (pg.K_RETURN, pg.K_KP_ENTER):
            text = self.typing.strip()
            self._close_box()
            self.controller.set_event(text or None)
        elif key == pg.K_ESCAPE:
            self._close_box()
            self.controller.set_event(None)

    def _close_box(self) -> None:
        self.typing = None
        self.pg.key.stop_text_input()

    def screenshot(self) -> Path:
        """Save the window (frame and HUD) as a PNG under ``save_dir``; returns its path."""
        self.save_dir.mkdir(parents=True, exist_ok=True)
        path = self.save_dir / f"yume-gym-{time.strftime('%Y%m%d-%H%M%S')}-{len(self.screenshots):03d}.png"
        self.pg.image.save(self.screen, str(path))
        self.screenshots.append(path)
        print(f"screenshot: {path}")
        return path

    # ------------------------------------------------------------------------------- draw
    def draw(self) -> None:
        """Draw the frame on screen (the window takes its size), the HUD and the help or event box."""
        pg = self.pg
        frame = self.controller.frame()
        if frame is not None:
            height, width = frame.shape[:2]
            if self.screen.get_size() != (width, height):
                self.screen = pg.display.set_mode((width, height))
            self.screen.blit(pg.image.frombuffer(frame.tobytes(), (width, height), "RGB"), (0, 0))
        else:
            self.screen.fill((0, 0, 0))
        lines = self.controller.status().lines() if frame is not None else [WAITING]
        self._text_box(lines, top=True)
        if self.typing is not None:
            self._text_box([f"event> {self.typing}_", "Enter apply  Esc clear"], top=False)
        else:
            self._text_box(HELP, top=False)
        pg.display.flip()

    def _text_box(self, lines: list[str], top: bool) -> None:
        """Draw ``lines`` on a translucent black box at the top or bottom-left of the window."""
        pg = self.pg
        rendered = [self.font.render(line, True, (255, 255, 255)) for line in lines]
        pad, line_h = 4, self.font.get_linesize()
        width = max(r.get_width() for r in rendered) + 2 * pad
        height = line_h * len(rendered) + 2 * pad
        box = pg.Surface((width, height), pg.SRCALPHA)
        box.fill((0, 0, 0, 150))
        for i, surface in enumerate(rendered):
            box.blit(surface, (pad, pad + i * line_h))
        self.screen.blit(box, (0, 0 if top else self.screen.get_height() - height))


def missing_display(environ: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why no window can open here (Linux with neither X11 nor Wayland), or None."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("SDL_VIDEODRIVER") or not platform.startswith("linux"):
        return None  # a chosen SDL driver, or a desktop OS that always has a screen
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("yume-gym play: no display here (DISPLAY and WAYLAND_DISPLAY are unset), so no window can open; "
            "run `yume-gym serve` instead and open its page through an SSH tunnel (README, 'Play it live')")


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym play``; returns the exit status."""
    args = parse_args(argv)
    problem = missing_display()
    if problem is not None:  # fail before loading a model, not after minutes without a window
        print(problem, file=sys.stderr)
        return 2
    import_play_dependency("pygame")  # fail with the install hint before loading a model
    controller = open_controller(args)
    model = controller.env.unwrapped.model
    print(model.describe())
    if not model.is_trained:
        print("note: the trained embedded weights are not installed; these frames come from random weights")
    window = PlayWindow(controller, args.save_dir)
    controller.start()
    try:
        window.run()
    except KeyboardInterrupt:  # Ctrl+C in the terminal quits like Q
        pass
    finally:
        controller.close()
        window.pg.quit()
    return 0
