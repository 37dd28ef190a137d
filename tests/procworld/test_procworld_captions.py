"""Scene captions of the procedural world: text -> scene -> text, and clear errors."""

import numpy as np
import pytest
from procworld.captions import parse_caption, scene_caption
from procworld.scene import (
    COLOURS,
    GROUNDS,
    KINDS,
    SKIES,
    Group,
    SceneSpec,
    build_scene,
    random_spec,
)


def test_caption_scene_caption_round_trips():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        spec = random_spec(rng)
        caption = scene_caption(spec)
        assert parse_caption(caption) == spec
        assert scene_caption(parse_caption(caption)) == caption
        seen.update({spec.ground, spec.sky, *(g.kind for g in spec.groups), *(g.colour for g in spec.groups)})
    assert seen == {*GROUNDS, *SKIES, *KINDS, *COLOURS}  # every word takes part


def test_a_caption_and_seed_make_one_scene():
    caption = "a snowy field with red pillars and green trees under a dusk sky"
    a, b = build_scene(parse_caption(caption), 7), build_scene(parse_caption(caption), 7)
    assert a == b and scene_caption(a) == caption
    assert build_scene(parse_caption(caption), 8).objects != a.objects
    kinds = {(o.colour, o.kind) for o in a.objects}
    assert kinds == {("red", "pillar"), ("green", "tree")}


def test_parsing_is_lenient_about_form_only():
    spec = parse_caption("  A Sandy Desert with an orange box, White Walls and a blue pillar under An Overcast Sky. ")
    assert spec == SceneSpec("sand", "overcast", (Group("orange", "box"), Group("white", "wall"), Group("blue", "pillar")))
    assert scene_caption(spec) == "a sandy desert with orange boxes, white walls and blue pillars under an overcast sky"


@pytest.mark.parametrize(
    "text, match",
    [
        ("a snowy field with red pillars under a purple sky", "unknown sky 'a purple sky'"),
        ("a lava field with red pillars under a dusk sky", "unknown ground 'a lava field'"),
        ("a snowy field with pink pillars under a dusk sky", "unknown colour 'pink'"),
        ("a snowy field with red dragons under a dusk sky", "unknown object kind 'dragons'"),
        ("a snowy field with red pillars", "<ground> with <objects> under <sky>"),
        ("a snowy field with big red pillars under a dusk sky", "should read '<colour> <kind>s'"),
        ("a snowy field with red pillars and red pillars under a dusk sky", "distinct"),
        ("a snowy field with red pillars, blue boxes, green trees and white walls under a dusk sky", "1 to 3"),
    ],
)
def test_unknown_scene_words_are_clear_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_caption(text)


def test_bad_specs_and_seeds_are_errors():
    with pytest.raises(TypeError):
        parse_caption(None)
    with pytest.raises(ValueError, match="unknown colour"):
        Group("teal", "box")
    with pytest.raises(ValueError, match="1 to 3"):
        SceneSpec("grass", "clear", ())
    with pytest.raises(ValueError, match="seed"):
        build_scene(random_spec(np.random.default_rng(0)), -1)


def test_every_scene_opens_with_something_ahead_and_clear_start():
    for seed in range(40):
        scene = build_scene(random_spec(np.random.default_rng(seed)), seed)
        first = scene.objects[0]
        assert first.kind == scene.spec.groups[0].kind and abs(((first.x + 16) % 32) - 16) < 1.3 and 5 <= first.z <= 8
        assert all(np.hypot((o.x + 16) % 32 - 16, (o.z + 16) % 32 - 16) > 2.5 for o in scene.objects)
