"""Fine-tuning only some layers: the frozen part, BatchNorm statistics included, does not move."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from detectors.training.freeze import freeze_except, frozen_norms_to_eval, is_trainable  # noqa: E402


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()),  # "0": the backbone
        nn.Conv2d(4, 2, 1),  # "1": the head
    )


def test_prefixes_match_whole_name_parts() -> None:
    assert is_trainable("head.classifiers.0.weight", ["head.classifiers"])
    assert is_trainable("head.classifiers", ["head.classifiers"])
    assert not is_trainable("head.classifiers_extra.weight", ["head.classifiers"])
    assert not is_trainable("backbone.conv1.weight", ["head"])


def test_one_step_moves_only_the_trainable_layers() -> None:
    model = _model()
    parameters = freeze_except(model, ["1"])
    assert parameters == list(model[1].parameters())
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    optimizer = torch.optim.AdamW(parameters, lr=0.1)
    model.train()
    frozen_norms_to_eval(model, ["1"])
    assert not model[0][1].training and model[1].training
    model(torch.rand(2, 3, 8, 8) * 4 + 3).sum().backward()  # inputs far from the running statistics
    optimizer.step()
    after = model.state_dict()
    for name, tensor in before.items():
        assert torch.equal(tensor, after[name]) != name.startswith("1."), name


def test_a_prefix_matching_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no parameter"):
        freeze_except(_model(), ["head"])
