"""The app offline, as a fresh machine runs it: ``python app.py`` with the hub out of reach falls back to
the bundled OneDiffusion-Mini, and every tab's example gives a result that means something.

Each check compares an output of the real server (through ``gradio_client``) with the ground truth of
the world the examples were rendered from (``assets/make_examples.py``), at Mini's 32 px, or with what
text to image alone gives for the same caption: a tab that ignored its inputs would fall to that. The
checks assert what Mini does (README, "OneDiffusion-Mini"); where it is weak (layout-exact control,
recolouring, novel-view geometry, azimuths) they assert the part it gets right, not more.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from onediffusion.loading import PUBLISHED_MODEL
from onediffusion.mini import MINI_MODEL
from onediffusion.mini.evaluate import GUIDANCE, abs_rel, color_masks, dominant_color, iou, psnr
from onediffusion.mini.world import OBJECT_COLORS, render, sample_scene
from tests.helpers import NOT_LEARNT, table
from ui.common import example_text

pytestmark = pytest.mark.skipif(not (MINI_MODEL / "transformer").is_dir(), reason="OneDiffusion-Mini not shipped")

SIDE = 32
RUN = {"steps": 30, "guidance": 3.0, "seed": 11, "randomize_seed": False}
UNDERSTAND = {"steps": 30, "guidance": 1.5, "seed": 11, "randomize_seed": False}
BLANK = {"caption_3": "", "caption_4": "", "subject_name": ""}  # text boxes the client always sends
NONE = {"negative_prompt": ""}  # as the checks were measured: no negative prompt


def pixels(path: str) -> np.ndarray:
    """An output image at Mini's side, as float RGB."""
    image = Image.open(path).convert("RGB")
    if image.size != (SIDE, SIDE):
        image = image.resize((SIDE, SIDE), Image.Resampling.BOX)
    return np.asarray(image).astype(float)


@pytest.fixture(scope="module")
def client(offline_app_url):
    return Client(offline_app_url, verbose=False)


@pytest.fixture(scope="module")
def world():
    """The scenes behind the examples, rendered at Mini's side."""
    from assets import make_examples as ex

    scene = sample_scene(ex.SCENE_SEED, 2)
    views = {azimuth: render(scene, ex.camera(azimuth), SIDE) for azimuth in ex.VIEW_AZIMUTHS}
    return {"scene": scene, "views": views, "front": views[0]}


@pytest.fixture(scope="module")
def files(examples):
    return lambda name: handle_file(str(examples / name))


@pytest.fixture(scope="module")
def scene_caption():
    return example_text()["scene"]["caption"]


@pytest.fixture(scope="module")
def caption_only(client, scene_caption) -> list[np.ndarray]:
    """What text to image alone gives for the scene's caption (made once): the baseline a tab that
    ignored its image would match."""
    gallery, _, _ = client.predict(
        prompt=scene_caption, negative_prompt="", **RUN, num_images=2, api_name="/text_to_image"
    )
    return [pixels(item["image"]) for item in gallery]


def test_the_app_falls_back_to_mini_offline(client):
    info = client.predict(api_name="/model_info")
    assert info["requested"] == PUBLISHED_MODEL and "offline" in info["fallback_reason"]
    assert info["native_side"] == SIDE and "OneDiffusion-Mini" in info["description"]


def test_text_to_image_draws_the_object_named(client):
    """One object per caption (Mini's colour accuracy: 0.99 on 192 held-out captions; measured here, seed
    11: cyan four times out of four)."""
    caption = next(c for c in example_text()["text_to_image"] if sum(w in OBJECT_COLORS for w in c.split()) == 1)
    colour = next(w for w in caption.split() if w in OBJECT_COLORS)  # "a cyan sphere on a grey floor"
    gallery, _, _ = client.predict(prompt=caption, negative_prompt="", **RUN, num_images=4, api_name="/text_to_image")
    drawn = [dominant_color(pixels(item["image"])) for item in gallery]
    assert drawn.count(colour) >= 3, drawn


def test_deblurring_restores_this_scene(client, world, files, caption_only):
    blurry = files("scene_blurry.png")
    _, gallery, _, _ = client.predict(
        condition="deblurring", condition_image=blurry, caption="", **NONE, **RUN, api_name="/control"
    )
    sharp = world["front"].rgb.astype(float)
    baseline = max(psnr(image, sharp) for image in caption_only)
    assert psnr(pixels(gallery[0]["image"]), sharp) >= baseline + 5  # measured (shipped Mini): 26.2 dB against 11.6


def test_inpainting_keeps_the_photo_outside_the_mask(client, world, files, scene_caption, caption_only):
    editor = {"background": files("scene_az000.png"), "layers": [files("scene_mask_layer.png")], "composite": None}
    given = {"condition": "inpainting", "condition_image": None, "inpainting": editor, "caption": scene_caption}
    shown, gallery, _, _ = client.predict(**given, **NONE, **RUN, api_name="/control")
    kept = ~np.all(pixels(shown) == 128, axis=-1)  # the mask the model saw is painted grey
    photo = world["front"].rgb.astype(float)
    baseline = max(psnr(image[kept], photo[kept]) for image in caption_only)
    # measured (shipped Mini): 25.7 against 12.7
    assert psnr(pixels(gallery[0]["image"])[kept], photo[kept]) >= baseline + 3


def test_editing_recolours_the_named_object_and_keeps_the_rest(client, world, files, caption_only):
    instruction = example_text()["scene"]["instruction"]  # "make the blue cube red"
    *_, old, shape, new = instruction.split()
    given = {"condition": "editing", "condition_image": files("scene_az000.png"), "caption": instruction}
    _, gallery, _, _ = client.predict(**given, **NONE, **RUN, api_name="/control")
    out, front = pixels(gallery[0]["image"]), world["front"]
    k = next(k for k, obj in enumerate(world["scene"].objects, start=1) if (obj.color, obj.shape) == (old, shape))
    named, rest = front.ids == k, front.ids != k
    baseline = np.mean([psnr(image[rest], front.rgb[rest]) for image in caption_only])
    assert dominant_color(out, named) == new  # measured (shipped Mini, seed 11): red
    assert psnr(out[rest], front.rgb[rest]) >= baseline + 4  # measured: 21.7 against 11.0


def test_understand_depth_orders_the_scene(client, world, files):
    result, raw, mesh, downloads, _, _, _ = client.predict(
        photo=files("scene_az000.png"), target="depth", caption="", **UNDERSTAND, api_name="/understand"
    )
    disparity = pixels(raw).mean(-1)
    depth = world["front"].depth
    assert abs_rel(disparity, depth) <= 0.5 * abs_rel(np.zeros_like(disparity), depth)
    assert mesh is not None and len(downloads) >= 2


def test_understand_segments_each_named_object(client, world, files):
    rows = example_text()["scene"]["semantic_labels"]
    _, raw, _, _, _, _, _ = client.predict(
        photo=files("scene_az000.png"),
        target="semanticmap",
        labels=table(rows),
        caption="",
        **UNDERSTAND,
        api_name="/understand",
    )
    masks = color_masks(pixels(raw), [colour for _, colour in rows])
    ious = [iou(mask, world["front"].ids == k) for k, mask in enumerate(masks, start=1)]
    # measured (shipped Mini, seed 11): 0.83 and 0.80 (the whole image: 0.19 for both objects together)
    assert min(ious) >= 0.4, ious


def test_identity_keeps_the_references_objects(client, files):
    ident = example_text()["identity"]
    refs = ident["references"]
    given = {
        "reference_1": files(refs[0]["file"]),
        "caption_1": refs[0]["caption"],
        "reference_2": files(refs[1]["file"]),
        "caption_2": refs[1]["caption"],
        "target_caption": ident["target_caption"],
    }
    gallery, _, _ = client.predict(
        mode="identity", **given, **BLANK, size="auto", **NONE, **RUN, num_images=4, api_name="/identity"
    )
    colours = {word for word in ident["target_caption"].split() if word in {"orange", "cyan"}}
    # measured (shipped Mini, seed 11): all four cyan. With two images one read as yellow, the orange's neighbour;
    # through the pipeline at seeds 0-7, two images each, 16 of 16 were cyan or orange.
    assert all(dominant_color(pixels(item["image"])) in colours for item in gallery)


def pixel_colours(rgb: np.ndarray) -> np.ndarray:
    """(h, w): the palette colour of each pixel on its own ("" where it is not saturated). One
    ``dominant_color`` of a whole view mixes its objects (orange and blue read as purple)."""
    names = [dominant_color(p[None]) or "" for p in rgb.reshape(-1, 3)]
    return np.array(names).reshape(rgb.shape[:2])


def colour_shares(rgb: np.ndarray) -> dict[str, float]:
    """The share of a view's saturated pixels that are of each palette colour."""
    names = pixel_colours(rgb)
    seen = max(int((names != "").sum()), 1)
    return {c: float((names == c).sum()) / seen for c in OBJECT_COLORS}


def test_multiview_keeps_the_scenes_objects(client, world, files, scene_caption):
    rows = [view["camera"] for view in example_text()["scene"]["views"]]
    gallery, gif, archive, _, _, _ = client.predict(
        image=files("scene_az000.png"), caption=scene_caption, cameras=table(rows), **NONE, **RUN, api_name="/multiview"
    )
    colours = {obj.color for obj in world["scene"].objects}
    assert len(gallery) == 3 and gif and archive
    given, *novel = [colour_shares(pixels(item["image"])) for item in gallery]
    shown = [{c: round(v, 2) for c, v in share.items() if v >= 0.05} for share in (given, *novel)]
    assert all(given[c] >= 0.1 for c in colours), shown  # the measure sees both objects in the input
    # Each novel view is mostly the scene's objects (the 6000-step Mini drops the cube from one view:
    # orange 0.37, blue 0.05; the shipped Mini keeps both: blue 0.29 and 0.17, orange 0.49 and 0.67).
    assert all(max(share[c] for c in colours) >= 0.25 for share in novel), shown


def centre_x(rgb: np.ndarray, colour: str) -> float | None:
    """The mean column of a view's pixels of one palette colour (None when it has none)."""
    columns = np.nonzero(pixel_colours(rgb) == colour)[1]
    return float(columns.mean()) if len(columns) else None


@NOT_LEARNT
def test_multiview_example_turns_round_the_scene_with_its_cameras(client, world, files, scene_caption):
    """The tab's example: the front view and the orbit at azimuths 0, 90, 180 and 270. Seen from 90 degrees the
    blue cube stands left of the orange sphere, from 270 right of it (the captions of the world say so); the
    generated views must show that, and each must look more like the scene from its own azimuth than from the
    mirrored one (90 and 270 swap under a sign slip in the azimuth). The shipped Mini fails it (seed 11): its
    view for 90 degrees is nearer the scene from 90 (15.47 dB) than from 270 (11.05), but its view for 270 is nearer
    the scene from 90 (13.28 dB) than from 270 (10.77; after the second views stage: 13.55 against 10.76; the Mini
    before the views stages: 13.98 against 9.75): a strict expected failure until a Mini's novel views learn 3D
    (issue 22)."""
    from assets import make_examples as ex

    orbit = example_text()["scene"]["orbit"]
    gallery, _, _, _, _, _ = client.predict(
        image=files("scene_az000.png"),
        caption=scene_caption,
        cameras=table(orbit),
        **NONE,
        **RUN,
        api_name="/multiview",
    )
    views = {int(row[0]): pixels(item["image"]) for row, item in zip(orbit, gallery)}
    truth = {a: render(world["scene"], ex.camera(a), SIDE).rgb for a in (90, 270)}
    cube, sphere = (obj.color for obj in world["scene"].objects)
    for azimuth, other in ((90, 270), (270, 90)):
        assert psnr(views[azimuth], truth[azimuth]) > psnr(views[azimuth], truth[other]), azimuth
    offsets = {a: centre_x(views[a], cube) - centre_x(views[a], sphere) for a in (90, 270)}
    assert offsets[90] < 0 < offsets[270], offsets


def example_photos(files) -> list[dict]:
    """The Camera poses example's photos: the scene from ``VIEW_AZIMUTHS`` of assets/make_examples.py."""
    from assets import make_examples as ex

    return [{"image": files(ex.view_file(a)), "caption": None} for a in ex.VIEW_AZIMUTHS]


def test_camera_estimation_finds_the_example_cameras(client, files):
    """The example views: azimuths 0, 90 and 180, elevation 25, distance 2.1. The estimates are placed with
    photo 1 at azimuth 0; each must be within 30 degrees of its true azimuth, at the orbit's height and radius.
    The shipped Mini (seed 11) places them at azimuths 0, 94.8 and 173.8, elevations 25-27.7, distances 1.94-2.1
    (the Mini of the second views stage: 0, 75.8 and 132.6, the third 47 degrees short; the Mini before the views
    stages: 0, 329.4 and 19.5)."""
    from assets import make_examples as ex

    photos = example_photos(files)
    settings = {"steps": 30, "guidance": GUIDANCE["camera_estimation"], "seed": 11, "randomize_seed": False}
    _, rows, _, _ = client.predict(photos=photos, caption="", **settings, api_name="/estimate_cameras")
    cameras = rows["data"]
    assert len(cameras) == 3
    for (_, azimuth, elevation, distance, _), truth in zip(cameras, ex.VIEW_AZIMUTHS):
        assert abs((azimuth - truth + 180) % 360 - 180) <= 30, cameras
        assert abs(distance - 2.1) <= 0.35 and 0 <= elevation <= 45, cameras


def test_camera_estimation_finds_the_orbits_height_and_radius(client, files):
    """The example views share elevation 25 and distance 2.1 (azimuths 0, 90, 180): Mini recovers the
    height and radius of the orbit from the images (measured with the Mini before the views stages, which
    did not place the azimuths: 15.6-25.5 degrees, 2.07-2.14)."""
    photos = example_photos(files)
    settings = {"steps": 30, "guidance": 1.0, "seed": 11, "randomize_seed": False}
    _, rows, _, _ = client.predict(photos=photos, caption="", **settings, api_name="/estimate_cameras")
    cameras = rows["data"]
    assert len(cameras) == 3
    for _, _, elevation, distance, _ in cameras:
        assert abs(distance - 2.1) <= 0.35 and 0 <= elevation <= 45


def test_slots_estimate_depth_from_a_given_photo(client, world, files):
    """Depth estimation laid out by hand: the photo a condition, the depth map a target, and the depth
    task's token (the same for both directions; the slot roles say which way)."""
    slots = table([["image", "condition", 1, None, None, None], ["image", "target", None, None, None, None]])
    images = [{"image": files("scene_az000.png"), "caption": None}]
    gallery, _, _, _, _ = client.predict(
        prompt="[[depth2image]]", slots=slots, images=images, **UNDERSTAND, api_name="/slots"
    )
    assert [item["caption"].split(" · ")[1] for item in gallery] == ["condition", "generated"]
    disparity = pixels(gallery[-1]["image"]).mean(-1)
    depth = world["front"].depth
    assert abs_rel(disparity, depth) <= 0.5 * abs_rel(np.zeros_like(disparity), depth)
