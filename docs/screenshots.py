"""Take the README's screenshots of `yume-gym play` and `yume-gym serve`, on the embedded model.

Writes docs/play-window.png (the window under SDL's dummy video driver, after a few chunks of
W held with an event typed in) and docs/serve-page.png (the page in headless Chromium: Debian's
chromium and chromium-driver, and selenium). Run from the repository root:

    python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
EVENT = "night falls"
PALETTE_COLOURS = 128  # a palette PNG keeps the screenshots small


def save_small_png(source: Path, target: Path) -> None:
    Image.open(source).convert("RGB").quantize(PALETTE_COLOURS).save(target, optimize=True)
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB)")


def run_for(seconds: float, tick) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        tick()
        time.sleep(1 / 60)


def window_screenshot(workdir: Path) -> None:
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    from yume_gym.commands.play.session import open_controller
    from yume_gym.commands.play.window import PlayWindow, parse_args

    controller = open_controller(parse_args(["--save-dir", str(workdir)]))
    window = PlayWindow(controller, workdir)
    pg = window.pg
    controller.start()
    try:
        while controller.frame() is None:
            window.tick()
        pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_w, mod=0, unicode="w", scancode=0))
        pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_t, mod=0, unicode="t", scancode=0))
        pg.event.post(pg.event.Event(pg.TEXTINPUT, text=EVENT))
        pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_RETURN, mod=0, unicode="\r", scancode=0))
        pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_w, mod=0, unicode="w", scancode=0))
        run_for(3.0, window.tick)
        save_small_png(window.screenshot(), DOCS / "play-window.png")
    finally:
        controller.close()
        pg.quit()


def serve_screenshot(workdir: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from yume_gym.commands.play.server import parse_args, start_server
    from yume_gym.commands.play.session import open_controller

    controller = open_controller(parse_args(["--save-dir", str(workdir)]))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner, url = asyncio.run_coroutine_threadsafe(start_server(controller, "127.0.0.1", 0), loop).result()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,700"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        browser.get(url)
        while browser.execute_script("return window.yume.frames") < 3:
            time.sleep(0.1)
        browser.find_element(By.ID, "event").send_keys(EVENT, Keys.ENTER)
        browser.find_element(By.ID, "view").click()
        ActionChains(browser).key_down("w").key_down(Keys.ARROW_RIGHT).perform()
        time.sleep(3.0)
        shot = workdir / "serve.png"
        browser.save_screenshot(str(shot))
        save_small_png(shot, DOCS / "serve-page.png")
    finally:
        browser.quit()
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        window_screenshot(Path(tmp))
        serve_screenshot(Path(tmp))


if __name__ == "__main__":
    main()
