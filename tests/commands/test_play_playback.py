"""Playback of generated chunks at the model's fps, and held keys -> the next chunk's action."""

import numpy as np
import pytest

from yume_gym.actions import action_from_keys
from yume_gym.commands.play.held_keys import HeldKeys
from yume_gym.commands.play.playback import Chunk, ChunkPlayback

FPS = 10.0  # one frame every 0.1 s


def chunk(first: int, frames: int = 4) -> Chunk:
    """A chunk whose frame i is flat grey at level first + i."""
    levels = np.arange(first, first + frames, dtype=np.uint8)
    return Chunk(np.broadcast_to(levels[:, None, None, None], (frames, 2, 2, 3)).copy(), None, None, 0, 0.01)


def shown(playback: ChunkPlayback) -> int | None:
    return None if playback.frame is None else int(playback.frame[0, 0, 0])


def test_frames_play_at_the_fps_and_the_queued_chunk_follows_on_cadence():
    playback = ChunkPlayback(FPS)
    assert playback.frame is None and playback.wants_next()
    playback.push(chunk(0))
    assert not playback.wants_next()
    assert playback.advance(1.0) and shown(playback) == 0
    assert playback.wants_next()  # chunk 0 plays: time to generate the next
    assert not playback.advance(1.05)
    assert playback.advance(1.1) and shown(playback) == 1
    playback.push(chunk(10))
    playback.advance(1.39)
    assert shown(playback) == 3
    playback.advance(1.42)  # chunk 0 ended at 1.4: chunk 10 starts on cadence
    assert shown(playback) == 10
    playback.advance(1.51)
    assert shown(playback) == 11


def test_late_chunk_holds_the_last_frame_then_starts_when_it_arrives():
    playback = ChunkPlayback(FPS)
    playback.push(chunk(0))
    playback.advance(0.0)
    assert playback.advance(2.0) and shown(playback) == 3  # a slow front end still gets the last frame
    assert not playback.advance(2.5) and shown(playback) == 3  # stalled on the last frame
    playback.push(chunk(10))
    assert playback.advance(3.0) and shown(playback) == 10
    playback.advance(3.1)
    assert shown(playback) == 11  # counted from its arrival, not from the stall


def test_pause_freezes_and_resume_goes_on_from_the_same_frame():
    playback = ChunkPlayback(FPS)
    playback.push(chunk(0))
    playback.advance(0.0)
    playback.advance(0.1)
    playback.pause(0.15)
    assert not playback.advance(5.0) and shown(playback) == 1
    playback.resume(5.0)
    playback.advance(5.06)
    assert shown(playback) == 2


def test_clear_drops_queued_chunks_and_the_next_starts_at_once():
    playback = ChunkPlayback(FPS)
    playback.push(chunk(0))
    playback.advance(0.0)
    playback.push(chunk(10))
    playback.clear()
    assert playback.wants_next() and shown(playback) == 0
    playback.push(chunk(20))
    assert playback.advance(0.01) and shown(playback) == 20


def test_shown_fps_counts_the_last_second():
    playback = ChunkPlayback(FPS)
    for k in range(3):
        playback.push(chunk(4 * k))
    for t in np.arange(0.0, 1.2, 0.01):
        playback.advance(float(t))
    assert playback.shown_fps(1.2) == pytest.approx(FPS, abs=1)
    assert playback.shown_fps(5.0) == 0


def test_held_keys_make_the_action_and_taps_count_once():
    keys = HeldKeys()
    assert keys.take_action() == 0
    keys.press("w")
    keys.press("LEFT")
    assert keys.take_action() == action_from_keys({"W", "LEFT"}) == 9 + 2
    keys.release("LEFT")
    assert keys.take_action() == 9
    keys.press("D")
    keys.release("D")  # a tap between two chunks still moves once
    assert keys.take_action() == action_from_keys({"W", "D"})
    assert keys.take_action() == 9
    keys.set_held(["S", "UP"])
    assert keys.held_action() == action_from_keys({"S", "UP"})
    with pytest.raises(ValueError, match="unknown key name 'Q'"):
        keys.press("Q")
    with pytest.raises(ValueError, match="unknown key name"):
        keys.set_held(["W", "JUMP"])
    assert keys.held == {"S", "UP"}  # a bad list changes nothing
