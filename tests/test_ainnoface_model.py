"""AInnoFace network structure: backbone / FPN / head shapes, anchor alignment, paper config."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from detectors.ainnoface import AInnoFaceOutput, build_ainnoface, get_config
from detectors.ainnoface.model import NO_FILTER_LOGIT
from detectors.anchors import generate_anchors


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _cells(height: int, width: int, level: int) -> tuple[int, int]:
    stride = 2**level
    return math.ceil(height / stride), math.ceil(width / stride)


def _check_structure(model, height: int, width: int) -> None:
    config = model.config
    channels = config.fpn_channels
    anchors_per_cell = config.anchors_per_cell
    images = torch.rand(2, 3, height, width) * 255
    with torch.no_grad():
        c_maps = model.backbone((images - model.mean) / model.std)
        assert len(c_maps) == 4
        for level, c_map, c_channels in zip(range(2, 6), c_maps, model.backbone.out_channels):
            assert tuple(c_map.shape) == (2, c_channels, *_cells(height, width, level)), f"C{level}"
        laterals, pyramid = model.features(images)
        assert len(laterals) == len(pyramid) == len(config.level_ids)
        for level, lateral, feature in zip(config.level_ids, laterals, pyramid):
            expected = (2, channels, *_cells(height, width, level))
            assert tuple(lateral.shape) == expected, f"L{level}"
            assert tuple(feature.shape) == expected, f"P{level}"
            rows, cols = _cells(height, width, level)
            count = rows * cols * anchors_per_cell
            maxout = level in config.maxout_levels
            assert tuple(model.second_step.classify(feature, maxout).shape) == (2, count)
            assert tuple(model.second_step.regress(feature).shape) == (2, count, 4)
            if level in config.two_step_cls_levels:
                assert tuple(model.first_step.classify(lateral, maxout).shape) == (2, count)
            if level in config.two_step_reg_levels:
                assert tuple(model.first_step.regress(lateral).shape) == (2, count, 4)
        out = model(images)
    assert isinstance(out, AInnoFaceOutput)
    anchors = generate_anchors(config.levels, height, width)
    total = len(anchors)
    assert tuple(out.cls1.shape) == tuple(out.cls2.shape) == (2, total)
    assert tuple(out.reg1.shape) == tuple(out.reg2.shape) == (2, total, 4)
    assert tuple(out.cls1_mask.shape) == tuple(out.reg1_mask.shape) == (total,)
    # Masks and fill values follow the level layout, in generate_anchors order.
    start = 0
    for level in config.level_ids:
        rows, cols = _cells(height, width, level)
        stop = start + rows * cols * anchors_per_cell
        assert bool(out.cls1_mask[start:stop].all()) == (level in config.two_step_cls_levels)
        assert bool(out.cls1_mask[start:stop].any()) == (level in config.two_step_cls_levels)
        assert bool(out.reg1_mask[start:stop].all()) == (level in config.two_step_reg_levels)
        if level not in config.two_step_cls_levels:
            assert torch.all(out.cls1[:, start:stop] == NO_FILTER_LOGIT)
        if level not in config.two_step_reg_levels:
            assert torch.all(out.reg1[:, start:stop] == 0)
        start = stop
    assert start == total
    assert torch.isfinite(out.cls2).all() and torch.isfinite(out.reg2).all()


@pytest.mark.parametrize(("height", "width"), [(128, 128), (160, 224), (100, 150)])
def test_depth18_shapes(height: int, width: int) -> None:
    model = build_ainnoface("small").eval()
    assert model.config.depth == 18
    assert model.backbone.out_channels == [16, 32, 64, 128]
    _check_structure(model, height, width)


@pytest.mark.parametrize(("height", "width"), [(128, 128), (160, 224)])
def test_depth50_shapes_on_p2_p7(height: int, width: int) -> None:
    model = build_ainnoface(
        "small", depth=50, min_level=2, two_step_cls_levels=(2, 3, 4), maxout_levels=(2,), backbone_norm="gn"
    ).eval()
    assert model.backbone.out_channels == [64, 128, 256, 512]  # Bottleneck x4 at width 0.25
    _check_structure(model, height, width)


def test_paper_configuration_forward() -> None:
    config = get_config("paper")
    assert (config.depth, config.width, config.fpn_channels) == (152, 1.0, 256)
    assert config.level_ids == (2, 3, 4, 5, 6, 7)
    assert config.two_step_cls_levels == (2, 3, 4) and config.two_step_reg_levels == (5, 6, 7)
    assert config.maxout_levels == (2,) and config.maxout_background == 3
    assert [level.stride for level in config.levels] == [4, 8, 16, 32, 64, 128]
    assert config.levels[0].sizes == (8.0, 11.32) and config.levels[-1].sizes == (256.0, 362.24)
    model = build_ainnoface("paper").eval()
    assert model.backbone.out_channels == [256, 512, 1024, 2048]
    assert (
        sum(
            len(stage)
            for stage in (model.backbone.layer1, model.backbone.layer2, model.backbone.layer3, model.backbone.layer4)
        )
        == 50
    )  # 3 + 8 + 36 + 3 bottlenecks
    with torch.no_grad():
        out = model(torch.rand(1, 3, 128, 128) * 255)
    # 128x128: P2..P7 have 32^2, 16^2, 8^2, 4^2, 2^2, 1 cells, 2 anchors each.
    expected = 2 * (1024 + 256 + 64 + 16 + 4 + 1)
    assert len(generate_anchors(config.levels, 128, 128)) == expected
    assert tuple(out.cls2.shape) == (1, expected) and tuple(out.reg2.shape) == (1, expected, 4)
    assert tuple(out.cls1.shape) == (1, expected) and tuple(out.reg1.shape) == (1, expected, 4)
    assert int(out.cls1_mask.sum()) == 2 * (1024 + 256 + 64)
    assert int(out.reg1_mask.sum()) == 2 * (16 + 4 + 1)


def test_initial_face_probability_is_the_prior() -> None:
    model = build_ainnoface("small").eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 128, 160) * 255)
    probabilities = torch.sigmoid(out.cls2)
    assert 0.002 < float(probabilities.mean()) < 0.02
    first = torch.sigmoid(out.cls1[:, out.cls1_mask])
    assert 0.005 < float(first.mean()) < 0.04


def test_maxout_background_on_the_lowest_level() -> None:
    from detectors.ainnoface.heads import maxout_face_logit

    raw = torch.tensor([[1.0, 0.0, 3.0, -2.0], [2.0, -1.0, -3.0, 0.5]])
    torch.testing.assert_close(maxout_face_logit(raw), torch.tensor([-2.0, 1.5]))
    model = build_ainnoface("small").eval()
    assert model.second_step.cls_pred_maxout.out_channels == 2 * (1 + 3)
    with torch.no_grad():
        for conv in (model.second_step.cls_pred_maxout, model.second_step.cls_pred):
            conv.weight.zero_()
        model.second_step.cls_pred_maxout.bias.copy_(torch.tensor([1.0, 0.0, 3.0, -2.0] * 2))
        model.second_step.cls_pred.bias.fill_(0.25)
        out = model(torch.rand(1, 3, 64, 96) * 255)
    p3 = 8 * 12 * 2
    assert torch.all(out.cls2[0, :p3] == -2.0)  # face 1 - max(0, 3, -2)
    assert torch.all(out.cls2[0, p3:] == 0.25)  # plain single logit on the other levels


def test_invalid_configs_are_rejected() -> None:
    with pytest.raises(ValueError):
        get_config("small", depth=26)
    with pytest.raises(ValueError):
        get_config("small", two_step_cls_levels=(2,))  # P2 is not in the small pyramid
    with pytest.raises(ValueError):
        get_config("nope")
