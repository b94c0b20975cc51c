"""The exponential moving average of model weights used by training (detectors.training.ema)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn

from detectors.training.ema import WeightAverage, evaluated_weights


def _model(value: float) -> nn.Module:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(value)
    return model


def test_update_moves_the_average_by_the_ramped_decay() -> None:
    average = WeightAverage(_model(0.0), decay=0.5, ramp_updates=1.0)
    decay = 0.5 * (1.0 - math.exp(-1.0))
    assert average.current_decay() == pytest.approx(decay)
    average.update(_model(1.0))
    weight = average.model[0].weight
    assert torch.allclose(weight, torch.full_like(weight, 1.0 - decay))
    assert average.updates == 1


def test_constant_weights_stay_constant_and_integer_buffers_are_copied() -> None:
    model = _model(0.25)
    model[1].num_batches_tracked.fill_(7)
    average = WeightAverage(_model(0.25), decay=0.999)
    for _ in range(5):
        average.update(model)
    for name, tensor in average.model.state_dict().items():
        assert torch.allclose(tensor.float(), model.state_dict()[name].float()), name
    assert int(average.model[1].num_batches_tracked) == 7


def test_the_average_is_a_frozen_copy() -> None:
    model = _model(0.0)
    average = WeightAverage(model, decay=0.9)
    assert average.model is not model and not average.model.training
    assert not any(parameter.requires_grad for parameter in average.model.parameters())
    with torch.no_grad():
        model[0].weight.fill_(3.0)
    assert float(average.model[0].weight.abs().max()) == 0.0


def test_state_round_trip() -> None:
    average = WeightAverage(_model(0.0), decay=0.9)
    average.update(_model(1.0))
    restored = WeightAverage(_model(5.0), decay=0.9)
    restored.load_state_dict(average.state_dict())
    assert restored.updates == 1
    assert torch.equal(restored.model[0].weight, average.model[0].weight)


def test_decay_outside_zero_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(_model(0.0), decay=1.0)


def test_evaluated_weights_prefers_the_average() -> None:
    assert evaluated_weights({"model": {"a": 1}}) == {"a": 1}
    assert evaluated_weights({"model": {"a": 1}, "ema": {"model": {"a": 2}, "updates": 3}}) == {"a": 2}
