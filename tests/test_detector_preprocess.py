"""Frame preparation (colour conversion, scaling, letterboxing) and provider choice."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detectors.inference import ScalePolicy, detect_frame
from detectors.postprocess import PostprocessConfig
from detectors.preprocess import input_scale, letterbox, resize_for_detection, to_bgr
from detectors.providers import DEVICE_PROVIDERS, choose_providers

# ------------------------------------------------------------------------------------------- to_bgr


def test_to_bgr_grayscale_2d() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = to_bgr(gray)
    assert out.shape == (3, 4, 3) and out.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray)


def test_to_bgr_hxwx1() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    out = to_bgr(gray)
    assert out.shape == (3, 4, 3)
    np.testing.assert_array_equal(out[..., 1], gray[..., 0])


def test_to_bgr_bgra_drops_alpha() -> None:
    bgra = np.zeros((2, 3, 4), np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = 10, 20, 30, 40
    out = to_bgr(bgra)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[0, 0], [10, 20, 30])


def test_to_bgr_passes_bgr_through() -> None:
    bgr = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_bgr(bgr), bgr)


def test_to_bgr_float_in_unit_range_is_scaled() -> None:
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = to_bgr(levels.astype(np.float32) / 255.0)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], levels)
    # floats above 1 are taken as 0..255 and clipped
    out = to_bgr(np.array([[-5.0, 100.0, 300.0]], dtype=np.float64))
    np.testing.assert_array_equal(out[0, :, 2], [0, 100, 255])


@pytest.mark.parametrize("shape", [(0, 0), (0, 5, 3), (5, 0), (4, 4, 0)])
def test_to_bgr_empty_frames_raise(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        to_bgr(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((2, 2, 2, 3), np.uint8), [[1, 2], [3, 4]]])
def test_to_bgr_unsupported_inputs_raise(bad: object) -> None:
    with pytest.raises(ValueError):
        to_bgr(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- scale and letterbox


def test_input_scale_caps_the_long_side() -> None:
    assert input_scale(4000, 3000, 1024) == pytest.approx(0.256)
    assert input_scale(3000, 4000, 1024) == pytest.approx(0.256)
    assert input_scale(480, 640, 1024) == 1.0
    assert input_scale(480, 640, None, upscale=2.0) == 2.0
    assert input_scale(480, 640, 1024, upscale=2.0) == pytest.approx(1024 / 640)  # upscale capped
    assert input_scale(480, 640, 1024, upscale=1.5) == 1.5  # 960 fits


def test_input_scale_enlarges_frames_below_the_minimum_side() -> None:
    assert input_scale(240, 320, 1024, min_side=640) == 2.0
    assert input_scale(320, 240, 1024, min_side=640) == 2.0  # the long side counts, portrait too
    assert input_scale(480, 640, 1024, min_side=640) == 1.0  # already there
    assert input_scale(1080, 1920, 1024, min_side=640) == pytest.approx(1024 / 1920)  # unaffected
    assert input_scale(240, 320, 1024, min_side=None) == 1.0
    assert input_scale(240, 320, 1024, min_side=0) == 1.0
    assert input_scale(240, 320, 500, min_side=640) == pytest.approx(500 / 320)  # the cap wins
    assert input_scale(240, 320, None, upscale=3.0, min_side=640) == 3.0  # a larger upscale is kept


def test_letterbox_pads_to_a_multiple_with_the_mean() -> None:
    frame = np.full((33, 65, 3), 7, np.uint8)
    batch = letterbox(frame, 1.0, 32)
    assert batch.shape == (1, 3, 64, 96) and batch.dtype == np.float32
    assert batch.flags.c_contiguous
    assert np.all(batch[0, :, :33, :65] == 7)
    np.testing.assert_array_equal(batch[0, :, 40, 80], [104, 117, 123])  # padding: BGR mean
    np.testing.assert_array_equal(batch[0, :, 33, 0], [104, 117, 123])


def test_letterbox_keeps_channel_order_and_exact_multiples() -> None:
    frame = np.zeros((64, 32, 3), np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = 1, 2, 3
    batch = letterbox(frame, 1.0, 32)
    assert batch.shape == (1, 3, 64, 32)  # already a multiple: no padding
    np.testing.assert_array_equal(batch[0, :, 10, 10], [1, 2, 3])


@pytest.mark.parametrize("size", [(640, 360), (1024, 576), (960, 540), (517, 333), (3840, 2160), (1, 1)])
def test_resize_for_detection_gives_the_requested_size(size: tuple[int, int]) -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    assert resize_for_detection(frame, size).shape == (size[1], size[0], 3)


def test_resize_for_detection_does_not_alias_strong_reductions() -> None:
    # one-pixel stripes: an average over any 2x2+ block is mid grey; a plain bilinear 3x
    # reduction samples stripe pixels and keeps a strong pattern
    stripes = np.zeros((1080, 1920, 3), np.uint8)
    stripes[:, ::2] = 255
    plain = cv2.resize(stripes, (640, 360), interpolation=cv2.INTER_LINEAR)
    assert plain.std() > 60
    reduced = resize_for_detection(stripes, (640, 360))
    assert reduced.std() < 5 and abs(reduced.mean() - 127.5) < 5


def test_resize_for_detection_matches_area_averaging_on_a_video_frame() -> None:
    rng = np.random.default_rng(1)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8), (0, 0), 3)
    area = cv2.resize(smooth, (640, 360), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(resize_for_detection(smooth, (640, 360)).astype(np.float32) - area).mean() < 1.0


def test_letterbox_content_is_the_resized_frame() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    for scale in (1024 / 1920, 0.3):
        batch = letterbox(frame, scale, 32)
        resized = resize_for_detection(frame, (round(1920 * scale), round(1080 * scale)))
        height, width = resized.shape[:2]
        np.testing.assert_array_equal(batch[0, :, :height, :width], resized.transpose(2, 0, 1).astype(np.float32))


def test_letterbox_resizes_by_scale() -> None:
    frame = np.zeros((4000, 3000, 3), np.uint8)
    batch = letterbox(frame, input_scale(4000, 3000, 1024), 32)
    assert batch.shape == (1, 3, 1024, 768)
    tiny = letterbox(np.zeros((1, 1, 3), np.uint8), 1.0, 32)
    assert tiny.shape == (1, 3, 32, 32)
    assert tiny[0, 0, 0, 0] == 0 and tiny[0, 0, 0, 1] == 104
    odd = letterbox(np.zeros((333, 517, 3), np.uint8), 0.5, 32)
    assert odd.shape == (1, 3, 192, 288)  # 167 x 258 (rounded) padded up


# ------------------------------------------------------------------------------------- detect_frame


def test_detect_frame_rescales_and_clips_to_the_frame() -> None:
    """A fake network emitting one box that overhangs the padded input on a 2x-downscaled frame."""
    from detectors.anchors import AnchorLevel, generate_anchors

    levels = (AnchorLevel(stride=32, sizes=(32,), densities=(1,)),)
    seen = {}

    def forward(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen["shape"] = batch.shape
        anchors = generate_anchors(levels, batch.shape[2], batch.shape[3])
        scores = np.zeros(len(anchors), np.float32)
        deltas = np.zeros((len(anchors), 4), np.float32)
        scores[0] = 0.9  # anchor at (16, 16): box 0..32 in input pixels -> 0..64 in the frame
        scores[-1] = 0.8  # last anchor (bottom-right cell) overhangs the 50x100 resized frame
        return deltas, scores

    frame = np.zeros((100, 200, 3), np.uint8)
    out = detect_frame(frame, forward, levels, 32, ScalePolicy(max_side=100), PostprocessConfig())
    assert seen["shape"] == (1, 3, 64, 128)
    assert out.dtype == np.float32 and out.shape == (2, 5)
    np.testing.assert_allclose(out[0], [0, 0, 64, 64, 0.9], rtol=1e-6)
    # last anchor centre (112, 48) size 32 -> input box 96..128 x 32..64 -> frame 192..256 x 64..128, clipped
    np.testing.assert_allclose(out[1], [192, 64, 200, 100, 0.8], rtol=1e-6)


# ---------------------------------------------------------------------------------------- providers


def test_auto_prefers_tensorrt_then_cuda_then_cpu() -> None:
    available = ["CPUExecutionProvider", "CUDAExecutionProvider", "AzureExecutionProvider", "TensorrtExecutionProvider"]
    assert choose_providers(available) == ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(["CPUExecutionProvider"], "auto") == ["CPUExecutionProvider"]


def test_cpu_is_always_last() -> None:
    assert choose_providers([]) == ["CPUExecutionProvider"]
    assert choose_providers(["CUDAExecutionProvider"]) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda") == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(["CPUExecutionProvider"], "cpu") == ["CPUExecutionProvider"]
    for device in DEVICE_PROVIDERS:
        chosen = choose_providers(list(DEVICE_PROVIDERS.values()), device)
        assert chosen[0] == DEVICE_PROVIDERS[device] and chosen[-1] == "CPUExecutionProvider"


def test_unavailable_explicit_device_raises_a_helpful_error() -> None:
    with pytest.raises(ValueError) as error:
        choose_providers(["CPUExecutionProvider"], "cuda")
    message = str(error.value)
    assert "CUDAExecutionProvider" in message and "CPUExecutionProvider" in message and "gpu" in message


def test_unknown_device_raises() -> None:
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        choose_providers(["CPUExecutionProvider"], "tpu")
