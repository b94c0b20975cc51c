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


# ------------------------------------------------------------------ averaging saved checkpoints


def _checkpoint(tmp_path, name: str, value: float, epoch: int, **extra: object):
    model = _model(value)
    model[1].num_batches_tracked.fill_(epoch)
    path = tmp_path / name
    torch.save({"model": model.state_dict(), "epoch": epoch, "config": {"variant": "small"}, **extra}, path)
    return path


def test_average_checkpoints_means_float_weights_and_keeps_the_rest(tmp_path) -> None:
    from detectors.training.average import average_checkpoints

    paths = [_checkpoint(tmp_path, f"epoch_{i}.pt", value, i) for i, value in enumerate((1.0, 2.0, 6.0))]
    averaged = average_checkpoints(paths)
    assert torch.allclose(averaged["model"]["0.weight"], torch.full((2, 2), 3.0))
    assert averaged["model"]["1.num_batches_tracked"].item() == 0  # integers from the first checkpoint
    assert averaged["epoch"] == 2 and averaged["config"] == {"variant": "small"}
    assert averaged["averaged_from"] == [str(path) for path in paths]


def test_average_checkpoints_uses_the_weight_average_of_last_pt(tmp_path) -> None:
    from detectors.training.average import average_checkpoints

    raw = _checkpoint(tmp_path, "raw.pt", 1.0, 0)
    with_ema = _checkpoint(tmp_path, "last.pt", 9.0, 1, optimizer={}, ema={"model": _model(3.0).state_dict(), "updates": 5})
    averaged = average_checkpoints([raw, with_ema])
    assert torch.allclose(averaged["model"]["0.weight"], torch.full((2, 2), 2.0))  # mean of 1 and the average's 3
    assert "optimizer" not in averaged and "ema" not in averaged


def test_average_checkpoints_rejects_different_models_and_no_input(tmp_path) -> None:
    from detectors.training.average import average_checkpoints

    other = tmp_path / "other.pt"
    torch.save({"model": nn.Linear(3, 1).state_dict()}, other)
    with pytest.raises(ValueError, match="not the same model"):
        average_checkpoints([_checkpoint(tmp_path, "a.pt", 1.0, 0), other])
    with pytest.raises(ValueError, match="no checkpoints"):
        average_checkpoints([])


def test_average_command_writes_a_loadable_checkpoint(tmp_path, capsys) -> None:
    from detectors.training.average import main

    paths = [_checkpoint(tmp_path, f"e{i}.pt", float(i), i) for i in range(2)]
    main(["--output", str(tmp_path / "out" / "soup.pt"), *map(str, paths)])
    saved = torch.load(tmp_path / "out" / "soup.pt", weights_only=True)
    assert torch.allclose(saved["model"]["0.weight"], torch.full((2, 2), 0.5))
    assert "average of 2 checkpoints" in capsys.readouterr().out
