"""Synthetic multi-face video clips with exact ground truth.

A clip is a static textured background over which face sprites move along
smooth trajectories (constant speed with a gently varying turn rate), change
scale slowly, cross each other, leave the frame and come back, and pass behind
a moving occluder bar. Everything is deterministic from ``ClipSpec.seed``.

Ground truth
------------
For every frame and every face whose box overlaps the frame, one
:class:`GroundTruthBox` is produced:

* ``box`` is the full face box (the sprite's ``face_box`` region as pasted),
  clipped to the frame.
* ``visible_fraction`` is the number of pixels of the *unclipped* face box that
  lie inside the frame and are not covered by the occluder bar or by the opaque
  part (alpha >= 0.5) of any face drawn later, divided by the unclipped box
  area. Faces are drawn in id order, so a face with a higher id is nearer and
  occludes lower ids; the occluder bar is in front of every face.
* ``ignored`` is ``visible_fraction < ClipSpec.min_visible`` (0.3 by default).
  Evaluation drops ignored boxes and any hypothesis matched to them, as the
  MOTChallenge devkit does for its "ignore" regions, so a tracker is neither
  rewarded nor punished for mostly hidden faces.

Face ids are 1-based (as in MOTChallenge files); frame indices are 0-based.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

Box = tuple[float, float, float, float]

_ALPHA_FEATHER = 0.1  # radial width of the soft edge of the elliptical mask
_OPAQUE_ALPHA = 0.5  # alpha from which a sprite pixel hides what is behind it
_VOC_MARGIN = 0.3  # margin around a VOC face crop, as a fraction of the face size


@dataclass
class FaceSprite:
    """A face picture to paste into clips.

    ``image`` is a BGR uint8 picture of any size. ``face_box`` is the face
    region inside it as fractions (x1, y1, x2, y2) of the image width and
    height; the ground-truth box is this region. The whole image is pasted
    through an elliptical alpha mask inscribed in it.
    """

    image: np.ndarray
    face_box: Box = (0.0, 0.0, 1.0, 1.0)


@dataclass
class ClipSpec:
    """Parameters of a synthetic clip (all randomness comes from ``seed``).

    Face sizes are sqrt(w * h) of face boxes in pixels; each face gets a base
    size such that its slow scale oscillation stays within [min_size, max_size].
    ``allow_exit`` lets faces leave the frame (they turn back half a face beyond
    the edge); without it they bounce off the edges and stay fully inside.
    ``occluder`` adds a vertical striped bar that sweeps across the frame in
    front of all faces.
    """

    width: int = 640
    height: int = 480
    fps: float = 25.0
    frames: int = 150
    faces: int = 4
    seed: int = 0
    min_size: int = 40
    max_size: int = 120
    allow_exit: bool = True
    occluder: bool = True
    min_visible: float = 0.3  # ground truth with a lower visible_fraction is marked ignored
    speed_range: tuple[float, float] = (40.0, 110.0)  # pixels per second
    max_turn_rate: float = 0.5  # radians per second
    scale_variation: float = 0.2  # size varies within base * exp(+-scale_variation)
    occluder_width: float = 0.06  # fraction of the frame width
    occluder_speed: float = 50.0  # pixels per second
    background: str = "texture"  # "texture" or "plain"
    background_color: tuple[int, int, int] = (128, 128, 128)
    noise_sigma: float = 2.0  # per-frame Gaussian sensor noise, grey levels


@dataclass
class GroundTruthBox:
    """Ground truth of one face in one frame (see the module docstring)."""

    frame: int
    face_id: int
    box: Box
    visible_fraction: float
    ignored: bool = False


@dataclass
class _Trajectory:
    """Per-frame centre and size of one face."""

    cx: np.ndarray
    cy: np.ndarray
    size: np.ndarray


@dataclass
class _PreparedSprite:
    """A sprite with its alpha mask and face-box fractions."""

    image: np.ndarray
    alpha: np.ndarray
    face_box: Box
    face_aspect: float = field(init=False)

    def __post_init__(self) -> None:
        h, w = self.image.shape[:2]
        fx1, fy1, fx2, fy2 = self.face_box
        self.face_aspect = ((fx2 - fx1) * w) / ((fy2 - fy1) * h)


def elliptical_alpha(height: int, width: int) -> np.ndarray:
    """Return a float32 alpha mask: an ellipse inscribed in the rectangle with a soft edge."""
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height * 2.0 - 1.0
    xs = (np.arange(width, dtype=np.float32) + 0.5) / width * 2.0 - 1.0
    radius = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    return np.clip((1.0 - radius) / _ALPHA_FEATHER, 0.0, 1.0).astype(np.float32)


def _prepare(sprite: FaceSprite) -> _PreparedSprite:
    h, w = sprite.image.shape[:2]
    return _PreparedSprite(sprite.image, elliptical_alpha(h, w), tuple(sprite.face_box))


def _base_size(spec: ClipSpec, rng: np.random.Generator) -> float:
    """Pick a base size so that the scale variation stays within [min_size, max_size]."""
    factor = math.exp(spec.scale_variation)
    low, high = spec.min_size * factor, spec.max_size / factor
    if low >= high:
        return math.sqrt(spec.min_size * spec.max_size)
    return float(rng.uniform(low, high))


def _simulate(spec: ClipSpec, aspect: float, rng: np.random.Generator) -> _Trajectory:
    """Simulate one face (face box width/height = ``aspect``): constant speed,
    smoothly varying turn rate, slow scale change."""
    n, dt = spec.frames, 1.0 / spec.fps
    t = np.arange(n) * dt
    base = _base_size(spec, rng)
    size = base * np.exp(spec.scale_variation * _slow_wave(t, (4.0, 10.0), rng))
    turn = rng.uniform(-1, 1) * spec.max_turn_rate * _slow_wave(t, (3.0, 8.0), rng)
    speed = rng.uniform(*spec.speed_range)
    half_w, half_h = size * math.sqrt(aspect) / 2, size / math.sqrt(aspect) / 2
    x = rng.uniform(half_w[0], spec.width - half_w[0])
    y = rng.uniform(half_h[0], spec.height - half_h[0])
    heading = _heading_to_centre(spec, x, y, rng)
    cx, cy = np.empty(n), np.empty(n)
    for i in range(n):
        if not spec.allow_exit:  # keep the whole face box inside the frame
            x = min(max(x, half_w[i] + 1), spec.width - half_w[i] - 1)
            y = min(max(y, half_h[i] + 1), spec.height - half_h[i] - 1)
        cx[i], cy[i] = x, y
        heading += turn[i] * dt
        x += speed * dt * math.cos(heading)
        y += speed * dt * math.sin(heading)
        heading = _steer_at_border(spec, x, y, heading, (half_w[i], half_h[i]), rng)
    return _Trajectory(cx, cy, size)


def _slow_wave(t: np.ndarray, period_range: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A sine of the times ``t`` (seconds) with a random period in ``period_range`` and a random phase."""
    return np.sin(2 * math.pi * t / rng.uniform(*period_range) + rng.uniform(0, 2 * math.pi))


def _heading_to_centre(spec: ClipSpec, x: float, y: float, rng: np.random.Generator) -> float:
    """Heading from (x, y) towards a random point of the central half of the frame."""
    tx = rng.uniform(0.25, 0.75) * spec.width
    ty = rng.uniform(0.25, 0.75) * spec.height
    return math.atan2(ty - y, tx - x)


def _steer_at_border(
    spec: ClipSpec, x: float, y: float, heading: float, half: tuple[float, float], rng: np.random.Generator
) -> float:
    """Bounce off the frame edges, or (allow_exit) head back in once fully outside the frame."""
    vx, vy = math.cos(heading), math.sin(heading)
    half_w, half_h = half
    if spec.allow_exit:  # turn back once the face is fully outside, half a face beyond the edge
        outward = (x < -2 * half_w and vx < 0) or (x > spec.width + 2 * half_w and vx > 0) or \
            (y < -2 * half_h and vy < 0) or (y > spec.height + 2 * half_h and vy > 0)
        return _heading_to_centre(spec, x, y, rng) if outward else heading
    if (x < half_w and vx < 0) or (x > spec.width - half_w and vx > 0):
        vx = -vx
    if (y < half_h and vy < 0) or (y > spec.height - half_h and vy > 0):
        vy = -vy
    return math.atan2(vy, vx)


def make_background(spec: ClipSpec, rng: np.random.Generator) -> np.ndarray:
    """Return the clip background: plain colour, or smooth noise with random shapes."""
    shape = (spec.height, spec.width, 3)
    if spec.background == "plain":
        return np.full(shape, spec.background_color, np.uint8)
    if spec.background != "texture":
        raise ValueError(f"unknown background {spec.background!r}")
    grey = rng.uniform(50, 200, (6, 8, 1))
    coarse = (grey + rng.uniform(-35, 35, (6, 8, 3))).astype(np.float32)
    image = cv2.resize(coarse, (spec.width, spec.height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 12, (spec.height // 4, spec.width // 4, 3)).astype(np.float32)
    image += cv2.resize(fine, (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(12):
        colour = tuple(int(c) for c in rng.integers(30, 225, 3))
        p1 = (int(rng.integers(0, spec.width)), int(rng.integers(0, spec.height)))
        p2 = (p1[0] + int(rng.integers(-150, 150)), p1[1] + int(rng.integers(-150, 150)))
        if rng.random() < 0.5:
            cv2.rectangle(image, p1, p2, colour, -1)
        else:
            cv2.line(image, p1, p2, colour, int(rng.integers(2, 8)))
    return image


def _occluder_positions(spec: ClipSpec, rng: np.random.Generator) -> np.ndarray:
    """Left x of the occluder bar per frame: it sweeps back and forth across the frame."""
    bar = spec.occluder_width * spec.width
    span = spec.width + bar  # travel from fully left of the frame edge to fully right
    start = rng.uniform(0, 2 * span)
    travel = (start + np.arange(spec.frames) * spec.occluder_speed / spec.fps) % (2 * span)
    return np.where(travel < span, travel, 2 * span - travel) - bar


def _draw_occluder(frame: np.ndarray, left: float, width: float) -> tuple[int, int]:
    """Draw the striped occluder bar and return its integer column range."""
    x1 = max(0, int(round(left)))
    x2 = min(frame.shape[1], int(round(left + width)))
    if x2 > x1:
        rows = np.arange(frame.shape[0])
        shade = np.where((rows // 12) % 2 == 0, 70, 95).astype(np.uint8)
        frame[:, x1:x2] = shade[:, None, None]
    return x1, x2


def _placement(sprite: _PreparedSprite, cx: float, cy: float, size: float) -> tuple[int, int, int, int, Box]:
    """Integer sprite rectangle (x0, y0, w, h) and the exact face box it yields."""
    fx1, fy1, fx2, fy2 = sprite.face_box
    face_w = size * math.sqrt(sprite.face_aspect)
    face_h = size / math.sqrt(sprite.face_aspect)
    w = max(1, int(round(face_w / (fx2 - fx1))))
    h = max(1, int(round(face_h / (fy2 - fy1))))
    x0 = int(round(cx - (fx1 + fx2) / 2 * w))
    y0 = int(round(cy - (fy1 + fy2) / 2 * h))
    return x0, y0, w, h, (x0 + fx1 * w, y0 + fy1 * h, x0 + fx2 * w, y0 + fy2 * h)


@dataclass
class _Patch:
    """Where a pasted sprite hides what is behind it: a frame rectangle and its mask."""

    x1: int
    y1: int
    x2: int
    y2: int
    opaque: np.ndarray


def _paste(frame: np.ndarray, sprite: _PreparedSprite, x0: int, y0: int, w: int, h: int) -> _Patch:
    """Alpha-blend the resized sprite into the frame; return its opaque (alpha >= 0.5) patch."""
    fh, fw = frame.shape[:2]
    x1, y1, x2, y2 = max(0, x0), max(0, y0), min(fw, x0 + w), min(fh, y0 + h)
    if x2 <= x1 or y2 <= y1:
        return _Patch(0, 0, 0, 0, np.zeros((0, 0), bool))
    interp = cv2.INTER_AREA if w < sprite.image.shape[1] else cv2.INTER_LINEAR
    image = cv2.resize(sprite.image, (w, h), interpolation=interp)[y1 - y0:y2 - y0, x1 - x0:x2 - x0]
    alpha = cv2.resize(sprite.alpha, (w, h), interpolation=interp)[y1 - y0:y2 - y0, x1 - x0:x2 - x0]
    roi = frame[y1:y2, x1:x2].astype(np.float32)
    a = alpha[:, :, None]
    frame[y1:y2, x1:x2] = (roi * (1 - a) + image.astype(np.float32) * a + 0.5).astype(np.uint8)
    return _Patch(x1, y1, x2, y2, alpha >= _OPAQUE_ALPHA)


def _visible_fraction(box: Box, covered: np.ndarray) -> float:
    """Share of the (pixel-rounded, unclipped) box inside the frame and not covered."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    area = (x2 - x1) * (y2 - y1)
    inside = covered[max(0, y1):max(0, y2), max(0, x1):max(0, x2)]
    if area <= 0 or inside.size == 0:
        return 0.0
    return float(np.count_nonzero(~inside) / area)


def _clip_box(box: Box, width: int, height: int) -> Box | None:
    x1, y1, x2, y2 = max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3])
    return (x1, y1, x2, y2) if x2 - x1 >= 1 and y2 - y1 >= 1 else None


@dataclass
class _Scene:
    """Everything of a clip that is drawn before its frames are rendered."""

    background: np.ndarray
    sprites: list[_PreparedSprite]
    tracks: list[_Trajectory]
    occluder: np.ndarray


def _make_scene(spec: ClipSpec, sprites: list[FaceSprite]) -> _Scene:
    rng = np.random.default_rng(spec.seed)
    background = make_background(spec, rng)
    prepared = [_prepare(sprites[i % len(sprites)]) for i in range(spec.faces)]
    tracks = [_simulate(spec, sprite.face_aspect, rng) for sprite in prepared]
    return _Scene(background, prepared, tracks, _occluder_positions(spec, rng))


def _render_frame(spec: ClipSpec, scene: _Scene, index: int) -> tuple[np.ndarray, list[GroundTruthBox]]:
    """Compose frame ``index`` (without noise) and compute its ground truth."""
    frame = scene.background.copy()
    boxes, patches = [], []
    for sprite, track in zip(scene.sprites, scene.tracks):  # far to near
        x0, y0, w, h, box = _placement(sprite, track.cx[index], track.cy[index], track.size[index])
        patches.append(_paste(frame, sprite, x0, y0, w, h))
        boxes.append(box)
    covered = np.zeros((spec.height, spec.width), bool)
    if spec.occluder:
        bx1, bx2 = _draw_occluder(frame, scene.occluder[index], spec.occluder_width * spec.width)
        covered[:, bx1:bx2] = True
    truth = []
    for face in reversed(range(spec.faces)):  # near to far, accumulating what hides the next face
        fraction = _visible_fraction(boxes[face], covered)
        patch = patches[face]
        covered[patch.y1:patch.y2, patch.x1:patch.x2] |= patch.opaque
        clipped = _clip_box(boxes[face], spec.width, spec.height)
        if clipped is not None:
            truth.append(GroundTruthBox(index, face + 1, clipped, fraction, bool(fraction < spec.min_visible)))
    return frame, truth[::-1]


def render_clip(spec: ClipSpec, sprites: list[FaceSprite]) -> Iterator[tuple[np.ndarray, list[GroundTruthBox]]]:
    """Yield (BGR uint8 frame, ground truth of that frame sorted by face id) for every frame.

    Face ``i`` (id ``i + 1``) uses ``sprites[i % len(sprites)]``.
    """
    if not sprites:
        raise ValueError("render_clip needs at least one sprite")
    scene = _make_scene(spec, sprites)
    noise_rng = np.random.default_rng([spec.seed, 1])
    noise = _noise_pool(spec, noise_rng)
    for index in range(spec.frames):
        frame, truth = _render_frame(spec, scene, index)
        yield _add_noise(frame, noise, noise_rng), truth


_NOISE_POOL = 8  # pre-drawn noise fields, picked at random per frame (drawing per frame is slow)


def _noise_pool(spec: ClipSpec, rng: np.random.Generator) -> np.ndarray | None:
    """Pre-drawn int16 Gaussian noise fields, or None when the clip has no noise."""
    if spec.noise_sigma <= 0:
        return None
    shape = (_NOISE_POOL, spec.height, spec.width, 3)
    return np.rint(rng.standard_normal(shape, dtype=np.float32) * spec.noise_sigma).astype(np.int16)


def _add_noise(frame: np.ndarray, pool: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    if pool is None:
        return frame
    noisy = frame.astype(np.int16) + pool[rng.integers(len(pool))]
    return np.clip(noisy, 0, 255).astype(np.uint8)


def write_clip(path: str | Path, spec: ClipSpec, sprites: list[FaceSprite]) -> list[GroundTruthBox]:
    """Render the clip to an mp4 file (mp4v codec) and return all its ground truth."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), spec.fps, (spec.width, spec.height))
    if not writer.isOpened():
        raise OSError(f"cannot open video writer for {path}")
    truth: list[GroundTruthBox] = []
    try:
        for frame, boxes in render_clip(spec, sprites):
            writer.write(frame)
            truth.extend(boxes)
    finally:
        writer.release()
    return truth


def write_mot_ground_truth(path: str | Path, boxes: Sequence[GroundTruthBox]) -> None:
    """Write MOTChallenge ground truth: ``frame,id,x,y,w,h,flag,-1,-1,-1``.

    ``frame`` is 1-based, x/y/w/h are in pixels (x, y = top-left corner) and
    ``flag`` is 1 for boxes to evaluate and 0 for ignored ones (as in the
    MOTChallenge "consider entry" column).
    """
    lines = []
    for g in sorted(boxes, key=lambda b: (b.frame, b.face_id)):
        x1, y1, x2, y2 = g.box
        flag = 0 if g.ignored else 1
        lines.append(f"{g.frame + 1},{g.face_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{flag},-1,-1,-1\n")
    Path(path).write_text("".join(lines))


def synthetic_sprites(count: int, seed: int) -> list[FaceSprite]:
    """Procedural face-like sprites: skin ellipse, eyes, mouth, distinct hair and shirt colours."""
    rng = np.random.default_rng(seed)
    hue_offset = rng.uniform(0, 180)
    return [_draw_face(rng, (hue_offset + i * 180 * 0.618) % 180) for i in range(count)]


_SKIN_TONES = [(189, 224, 255), (160, 200, 240), (128, 170, 220), (96, 140, 198), (70, 105, 160), (45, 75, 120)]
_HAIR_COLOURS = [(20, 20, 20), (30, 50, 90), (60, 110, 170), (120, 180, 230), (40, 40, 150), (170, 170, 170)]


def _hsv_colour(hue: float, saturation: int, value: int) -> tuple[int, int, int]:
    pixel = np.array([[[hue, saturation, value]]], np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0])


def _draw_face(rng: np.random.Generator, shirt_hue: float) -> FaceSprite:
    """Draw one 120x150 face sprite; the face box is the skin ellipse's bounding box."""
    w, h, cx, cy, ax, ay = 120, 150, 60, 72, 34, 44
    skin = _SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))]
    hair = _HAIR_COLOURS[int(rng.integers(len(_HAIR_COLOURS)))]
    image = np.full((h, w, 3), _hsv_colour(rng.uniform(0, 180), 40, 150), np.uint8)
    cv2.ellipse(image, (cx, h + 10), (58, 45), 0, 0, 360, _hsv_colour(shirt_hue, 200, 200), -1)
    cv2.ellipse(image, (cx, cy - 8), (ax + 8, ay + 6), 0, 0, 360, hair, -1)
    cv2.ellipse(image, (cx, cy), (ax, ay), 0, 0, 360, skin, -1)
    cv2.ellipse(image, (cx, cy - ay + 8), (ax, 16), 0, 180, 360, hair, -1)  # fringe
    for side in (-1, 1):
        eye = (cx + side * 13, cy - 6)
        cv2.ellipse(image, eye, (7, 4), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(image, eye, 3, (int(rng.integers(20, 90)), 40, 30), -1)
        cv2.line(image, (eye[0] - 7, eye[1] - 9), (eye[0] + 7, eye[1] - 10), hair, 2)
    cv2.line(image, (cx, cy - 2), (cx - 3, cy + 12), tuple(int(c * 0.8) for c in skin), 2)
    cv2.ellipse(image, (cx, cy + 22), (11, 5), 0, 0, 180, (60, 60, 170), -1)
    texture = rng.normal(0, 6, image.shape).astype(np.float32)
    image = cv2.GaussianBlur(np.clip(image + texture, 0, 255).astype(np.uint8), (3, 3), 0)
    face_box = ((cx - ax) / w, (cy - ay) / h, (cx + ax) / w, (cy + ay) / h)
    return FaceSprite(image, face_box)


def _voc_faces(annotation: Path, min_size: int) -> list[tuple[float, float, float, float]]:
    """Non-difficult face boxes of one VOC annotation whose sides are >= min_size."""
    boxes = []
    for obj in ET.parse(annotation).getroot().iter("object"):
        if obj.findtext("name") != "face" or (obj.findtext("difficult") or "0").strip() == "1":
            continue
        bb = obj.find("bndbox")
        box = tuple(float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        if min(box[2] - box[0], box[3] - box[1]) >= min_size:
            boxes.append(box)
    return boxes


def crop_face_sprite(image: np.ndarray, box: Box, margin: float = _VOC_MARGIN) -> FaceSprite:
    """Sprite of the face ``box`` (x1, y1, x2, y2 pixels) of ``image`` with ``margin`` x face size
    on every side; the image is mirrored where the margin runs out of it."""
    x1, y1, x2, y2 = box
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    left, top = int(round(x1 - mx)), int(round(y1 - my))
    right, bottom = int(round(x2 + mx)), int(round(y2 + my))
    h, w = image.shape[:2]
    pad = max(0, -left, -top, right - w, bottom - h)
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT) if pad else image
    crop = padded[top + pad:bottom + pad, left + pad:right + pad].copy()
    cw, ch = right - left, bottom - top
    return FaceSprite(crop, ((x1 - left) / cw, (y1 - top) / ch, (x2 - left) / cw, (y2 - top) / ch))


def sprites_from_voc(folder: str | Path, count: int, seed: int, min_size: int = 48) -> list[FaceSprite]:
    """Crops of real faces from a Pascal VOC folder (images/<stem>.jpg + annotations/<stem>.xml).

    Faces marked difficult or with a side under ``min_size`` pixels are skipped;
    ``count`` faces are drawn at random (seeded) from the rest. Raises
    ValueError when the folder holds fewer eligible faces.
    """
    folder = Path(folder)
    candidates = [
        (annotation.stem, box)
        for annotation in sorted((folder / "annotations").glob("*.xml"))
        for box in _voc_faces(annotation, min_size)
    ]
    if len(candidates) < count:
        raise ValueError(f"{folder} has {len(candidates)} faces of >= {min_size} px, {count} requested")
    chosen = np.random.default_rng(seed).choice(len(candidates), size=count, replace=False)
    sprites = []
    for index in chosen:
        stem, box = candidates[int(index)]
        image = cv2.imread(str(folder / "images" / f"{stem}.jpg"), cv2.IMREAD_COLOR)
        if image is None:
            raise OSError(f"cannot read {folder / 'images' / stem}.jpg")
        sprites.append(crop_face_sprite(image, box))
    return sprites
