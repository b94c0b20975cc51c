"""Two-step (SRN) box refinement math, score filtering and the inference wrapper."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors import box_coding
from detectors.ainnoface import AInnoFaceInferenceWrapper, AInnoFaceOutput, build_ainnoface, final_scores
from detectors.ainnoface.box_ops import (
    MAX_LOG_SCALE,
    apply_deltas,
    centers_to_corners,
    compose_deltas,
    decode,
    encode,
    refine_anchors,
    two_step_decode,
)
from detectors.anchors import generate_anchors
from detectors.faceboxes.config import SMALL_FACE_LEVELS


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _random_case(count: int = 500, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    anchors = torch.from_numpy(generate_anchors(SMALL_FACE_LEVELS, 256, 320)[:count].copy())
    first = torch.randn(count, 4, generator=generator)
    second = torch.randn(count, 4, generator=generator)
    return anchors, first, second


def test_constants_match_numpy_coder() -> None:
    assert MAX_LOG_SCALE == pytest.approx(float(box_coding._MAX_LOG_SCALE))


def test_torch_coding_matches_numpy() -> None:
    anchors, deltas, _ = _random_case()
    np.testing.assert_allclose(
        decode(deltas, anchors).numpy(), box_coding.decode(deltas.numpy(), anchors.numpy()), rtol=1e-5, atol=1e-3
    )
    boxes = box_coding.decode(deltas.numpy(), anchors.numpy())
    np.testing.assert_allclose(
        encode(torch.from_numpy(boxes), anchors).numpy(), box_coding.encode(boxes, anchors.numpy()), atol=1e-4
    )


def test_zero_second_step_gives_the_refined_anchor() -> None:
    anchors, first, _ = _random_case()
    refined = refine_anchors(first, anchors)
    boxes = two_step_decode(first, torch.zeros_like(first), anchors)
    torch.testing.assert_close(boxes, centers_to_corners(refined), rtol=0, atol=1e-4)
    assert not torch.allclose(refined, anchors)  # the refinement did move the anchors


def test_zero_first_step_gives_the_one_step_decode() -> None:
    anchors, _, second = _random_case()
    boxes = two_step_decode(torch.zeros_like(second), second, anchors)
    torch.testing.assert_close(boxes, decode(second, anchors), rtol=0, atol=1e-4)
    # ... and the composed deltas are then the second-step deltas themselves.
    torch.testing.assert_close(compose_deltas(torch.zeros_like(second), second), second, rtol=0, atol=1e-6)


def test_composed_deltas_decode_to_the_two_step_boxes_in_numpy() -> None:
    anchors, first, second = _random_case()
    expected = two_step_decode(first, second, anchors).numpy()
    composed = compose_deltas(first, second).numpy()
    np.testing.assert_allclose(box_coding.decode(composed, anchors.numpy()), expected, rtol=1e-5, atol=1e-3)
    # The explicit route of the brief (decode, decode, re-encode against the anchor) agrees too.
    explicit = encode(two_step_decode(first, second, anchors), anchors)
    np.testing.assert_allclose(composed, explicit.numpy(), rtol=1e-4, atol=1e-4)
    # A non-trivial composition (differs from adding the deltas).
    assert np.abs(composed - (first + second).numpy()).max() > 0.1


def test_apply_deltas_is_the_centre_form_of_decode() -> None:
    anchors, first, _ = _random_case(50)
    torch.testing.assert_close(centers_to_corners(apply_deltas(first, anchors)), decode(first, anchors))


def test_first_step_filter_zeroes_rejected_anchors() -> None:
    threshold_logit = float(np.log(0.01 / 0.99))
    first = torch.tensor([[-5.0, threshold_logit - 1e-3, threshold_logit + 1e-3, 0.0, 20.0]])
    second = torch.tensor([[3.0, 3.0, 1.0, -1.0, 2.0]])
    scores = final_scores(first, second, 0.01)
    expected = torch.sigmoid(second) * torch.tensor([[0.0, 0.0, 1.0, 1.0, 1.0]])
    torch.testing.assert_close(scores, expected)


def test_wrapper_contract_on_the_model() -> None:
    torch.manual_seed(3)
    model = build_ainnoface("small").eval()
    # First-step classifier: reject everything on P3 (max-out level), keep everything on P4.
    with torch.no_grad():
        model.first_step.cls_pred_maxout.bias.view(2, -1)[:, 0] = -10.0
        model.first_step.cls_pred.bias.fill_(3.0)
    images = torch.rand(1, 3, 160, 224) * 255
    with torch.no_grad():
        out = model(images)
        deltas, scores = AInnoFaceInferenceWrapper(model)(images)
    anchors = generate_anchors(model.levels, 160, 224)
    assert tuple(deltas.shape) == (1, len(anchors), 4) and tuple(scores.shape) == (1, len(anchors))
    p3 = 20 * 28 * 2
    assert torch.all(scores[0, :p3] == 0)
    torch.testing.assert_close(scores[0, p3:], torch.sigmoid(out.cls2[0, p3:]))
    expected_boxes = two_step_decode(out.reg1[0], out.reg2[0], torch.from_numpy(anchors.copy())).numpy()
    np.testing.assert_allclose(box_coding.decode(deltas[0].numpy(), anchors), expected_boxes, rtol=1e-5, atol=1e-2)


def test_wrapper_with_handmade_outputs() -> None:
    class Fixed(torch.nn.Module):
        config = build_ainnoface("small").config

        def forward(self, images):
            cls1 = torch.tensor([[-6.0, 0.0, 20.0]])
            cls2 = torch.tensor([[4.0, 0.0, -1.0]])
            reg1 = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 0.5, 0.0]]])
            reg2 = torch.tensor([[[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]])
            mask = torch.tensor([True, True, False])
            return AInnoFaceOutput(cls1, reg1, cls2, reg2, mask, ~mask)

    deltas, scores = AInnoFaceInferenceWrapper(Fixed())(torch.zeros(1, 3, 32, 32))
    torch.testing.assert_close(scores, torch.tensor([[0.0, 0.5, float(torch.sigmoid(torch.tensor(-1.0)))]]))
    torch.testing.assert_close(deltas[0, 0], torch.tensor([0.5, 0.5, 0.0, 0.0]))
    torch.testing.assert_close(deltas[0, 2], torch.tensor([1.0, -1.0, 0.5, 0.0]))
