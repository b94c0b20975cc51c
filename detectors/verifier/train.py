"""Training, threshold choice and ONNX export of the face verifier (needs the ``train`` extra: torch).

``python start.py train-verifier`` runs it: it mines crops from a labelled folder with the shipped
detectors (:mod:`detectors.verifier.samples`, cached in the run folder), trains
:class:`~detectors.verifier.model.FaceVerifierNet` on the fitting split (with ``members`` > 1, one per
seed, averaged by :class:`~detectors.verifier.model.AveragedVerifier`), sets the threshold on the
held-out split (:func:`choose_threshold`) and writes ``verifier.onnx``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from detectors.runtime import OnnxFaceDetector
from detectors.training.export import add_metadata
from detectors.verification import CONTEXT, CROP_SIZE, EDGE_CUT_FACES_NOTE, EDGE_THRESHOLD_NOTE, MIN_CHECKED_SCORE, crops_to_batch
from detectors.verifier.model import STAGE_CHANNELS, AveragedVerifier, FaceVerifierNet, ResizedInput
from detectors.verifier.samples import EDGE_LABEL_SOURCE, CropSet, mine_edge_cut_faces, mine_face_free_images, mine_featureless, mine_labelled

#: The threshold keeps this share of the held-out true detections that the verifier judges ...
HELD_OUT_KEEP = 0.998
#: ... but never rejects a crop the verifier finds more likely a face than not.
MAX_THRESHOLD = 0.5
#: Lowest detector score mined on labelled images, and on featureless frames (none is a face there).
MINED_SCORE = 0.3
MINED_FEATURELESS_SCORE = 0.1
#: Generated featureless frames mined by default.
FEATURELESS_FRAMES = 1500
#: Faces of at least this size (px, as the AP buckets measure them) are the large ones
#: :attr:`VerifierTraining.large_face_weight` draws more often.
LARGE_FACE_SIDE = 64.0


@dataclass(frozen=True)
class VerifierTraining:
    """The training recipe (the defaults are the shipped verifier's)."""

    epochs: int = 12
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    stage_channels: tuple[int, ...] = STAGE_CHANNELS
    #: How much more often a face of :data:`LARGE_FACE_SIDE` px or more is drawn than a smaller one.
    large_face_weight: float = 1.0
    #: How many verifiers are trained (seeds ``seed``, ``seed + 1``, ...) and averaged into one.
    members: int = 1
    #: A run folder whose ``verifier-seedS.pt`` gives each member (seed S) its starting weights (None:
    #: random ones): fine-tuning a trained verifier on more data.
    init_run_dir: str | None = None
    #: Side of the square crops the verifier judges, px (crops are mined at this size).
    crop_size: int = CROP_SIZE

    def member_seeds(self) -> list[int]:
        """The seed of each member."""
        return [self.seed + index for index in range(self.members)]


#: Share of training crops whose colour channels are randomly permuted, and turned grey: faces
#: painted, lit or filmed in odd colours stay faces, and colour alone cannot decide.
CHANNEL_SHUFFLE = 0.5
GREY = 0.2

#: The six orders of three colour channels.
CHANNEL_ORDERS = torch.tensor([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])


def shuffle_colours(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Permute the colour channels of a random :data:`CHANNEL_SHUFFLE` of an (N, 3, S, S) batch and
    turn a random :data:`GREY` of it grey."""
    count = len(batch)
    orders = CHANNEL_ORDERS[torch.randint(len(CHANNEL_ORDERS), (count,), generator=generator)]
    orders[torch.rand(count, generator=generator) >= CHANNEL_SHUFFLE] = CHANNEL_ORDERS[0]
    batch = torch.gather(batch, 1, orders[:, :, None, None].expand_as(batch))
    grey = torch.rand(count, generator=generator) < GREY
    return torch.where(grey[:, None, None, None], batch.mean(dim=1, keepdim=True).expand_as(batch), batch)


def jitter_batch(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips, colour shuffles (:func:`shuffle_colours`) and brightness/contrast
    changes of an (N, 3, S, S) batch in [0, 1]."""
    count = len(batch)
    flips = torch.rand(count, generator=generator) < 0.5
    batch = shuffle_colours(torch.where(flips[:, None, None, None], batch.flip(3), batch), generator)
    contrast = 0.7 + 0.6 * torch.rand(count, 1, 1, 1, generator=generator)
    brightness = 0.3 * torch.rand(count, 1, 1, 1, generator=generator) - 0.15
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    return ((batch - mean) * contrast + mean + brightness).clamp(0.0, 1.0)


def positive_weights(sides: np.ndarray, large_face_weight: float) -> np.ndarray:
    """Relative draw weight of each face crop of size ``sides``: ``large_face_weight`` from
    :data:`LARGE_FACE_SIDE` px up (a crop of unknown size, NaN, counts as small), 1 below."""
    return np.where(np.nan_to_num(sides, nan=0.0) >= LARGE_FACE_SIDE, large_face_weight, 1.0)


def balanced_order(labels: np.ndarray, rng: np.random.Generator, face_weights: np.ndarray | None = None) -> np.ndarray:
    """One epoch's sample indices: as many draws as samples, faces and non-faces equally often; faces
    in proportion to ``face_weights`` (one per sample, only the faces' are read; default: uniform)."""
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    half = len(labels) // 2
    chances = None
    if face_weights is not None:
        chances = face_weights[positives] / face_weights[positives].sum()
    order = np.concatenate([rng.choice(positives, half, p=chances), rng.choice(negatives, len(labels) - half)])
    return rng.permutation(order)


def train_verifier(crops: np.ndarray, labels: np.ndarray, recipe: VerifierTraining = VerifierTraining(),
                   log=print, sides: np.ndarray | None = None, initial: FaceVerifierNet | None = None) -> FaceVerifierNet:
    """Train a verifier on (N, S, S, 3) uint8 BGR ``crops`` with 1/0 ``labels`` (and box ``sides`` in
    px, needed when the recipe draws large faces more often), starting from ``initial`` when given
    (trained further in place); returns it in eval mode."""
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(recipe.threads)
    rng = np.random.default_rng(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = FaceVerifierNet(recipe.stage_channels) if initial is None else initial
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    steps = recipe.epochs * math.ceil(len(labels) / recipe.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    inputs, targets = torch.from_numpy(crops_to_batch(crops)), torch.from_numpy(labels.astype(np.float32))
    loss_function = nn.BCEWithLogitsLoss()
    face_weights = None
    if recipe.large_face_weight != 1.0:
        if sides is None:
            raise ValueError("drawing large faces more often needs the crops' sizes")
        face_weights = positive_weights(sides, recipe.large_face_weight)
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.from_numpy(balanced_order(labels, rng, face_weights))
        total = 0.0
        for start in range(0, len(order), recipe.batch_size):
            rows = order[start : start + recipe.batch_size]
            logits = model(jitter_batch(inputs[rows], generator)).squeeze(1)
            loss = loss_function(logits, targets[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)
        log(f"epoch {epoch + 1}/{recipe.epochs}: loss {total / len(order):.4f}")
    return model.eval()


def face_probabilities(model: nn.Module, crops: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """(N,) face probability of each (N, S, S, 3) uint8 crop."""
    outputs = []
    with torch.no_grad():
        for start in range(0, len(crops), batch_size):
            batch = torch.from_numpy(crops_to_batch(crops[start : start + batch_size]))
            outputs.append(torch.sigmoid(model(batch)).squeeze(1).numpy())
    return np.concatenate(outputs) if outputs else np.zeros(0, np.float32)


def choose_threshold(true_face_probabilities: np.ndarray, keep: float = HELD_OUT_KEEP) -> float:
    """The probability below which ``1 - keep`` of the held-out true detections fall, at most
    :data:`MAX_THRESHOLD`.

    Raises:
        ValueError: Without held-out true detections.
    """
    if len(true_face_probabilities) == 0:
        raise ValueError("no held-out true detections to set the verifier's threshold on")
    return min(float(np.quantile(true_face_probabilities, 1.0 - keep)), MAX_THRESHOLD)


def true_detection_rows(mined: dict[str, np.ndarray]) -> np.ndarray:
    """Indices of the held-out crops of detections (any detector) that match a labelled face and that
    the verifier judges (score at least :data:`detectors.verification.MIN_CHECKED_SCORE`)."""
    detections = np.char.startswith(mined["sources"].astype(str), "detection ")
    judged = mined["scores"] >= MIN_CHECKED_SCORE
    return np.flatnonzero(mined["held_out"] & (mined["labels"] == 1) & detections & judged)


def export_verifier(model: nn.Module, path: str | Path, threshold: float, notes: dict[str, str],
                    crop_size: int = CROP_SIZE) -> Path:
    """Write ``model`` as ONNX (``crops`` (N, 3, S, S) -> ``logits`` (N, 1), S = ``crop_size``, dynamic
    batch axis) with the metadata :class:`detectors.verification.FaceVerifier` reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 3, crop_size, crop_size)
    with torch.no_grad():
        torch.onnx.export(model.eval(), (example,), str(path), input_names=["crops"],
                          output_names=["logits"], dynamic_axes={"crops": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    return add_metadata(path, {"facetrack_verifier": "cnn32", "crop_size": str(crop_size), "context": str(CONTEXT),
                               "threshold": f"{threshold:.6f}", **notes})


def shipped_detectors(score_threshold: float) -> dict[str, OnnxFaceDetector]:
    """The shipped detectors by name as the verifier is mined with: their verifiers off."""
    import detectors

    return {name: detectors.load_detector(name, score_threshold=score_threshold, verify=False, threads=2)
            for name in detectors.BUILTIN_DETECTORS}


def load_or_mine(cache: Path, mine: Callable[[CropSet], None], crop_size: int = CROP_SIZE) -> dict[str, np.ndarray]:
    """The crop arrays saved in ``cache``, or those ``mine`` adds to an empty set of ``crop_size`` px
    crops (then saved there).

    Raises:
        ValueError: If ``cache`` holds crops of another size.
    """
    if cache.is_file():
        with np.load(cache) as stored:
            mined = {key: stored[key] for key in stored.files}
        if mined["crops"].shape[1] != crop_size:
            raise ValueError(f"{cache} holds {mined['crops'].shape[1]} px crops, not {crop_size} px: "
                             "use another --run-dir (or delete it to mine again)")
        if "sides" not in mined:  # mined before crops kept their sizes
            mined["sides"] = np.full(len(mined["labels"]), np.nan, np.float32)
        return mined
    crops = CropSet(crop_size=crop_size)
    mine(crops)
    mined = crops.arrays()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **mined)
    return mined


def mine_or_load(train_folder: Path, cache: Path, featureless_frames: int, log=print,
                 crop_size: int = CROP_SIZE) -> dict[str, np.ndarray]:
    """The mined crops of ``train_folder`` and of ``featureless_frames`` generated frames (see
    :mod:`detectors.verifier.samples`), read from ``cache`` when it exists, else mined with the shipped
    detectors and saved there."""
    from detectors.datasets import read_face_folder

    def mine(crops: CropSet) -> None:
        found = shipped_detectors(MINED_SCORE)
        samples = read_face_folder(train_folder)
        log(f"mining {len(samples)} labelled images with {', '.join(found)}")
        mine_labelled(samples, {name: detector.detect for name, detector in found.items()}, crops)
        for detector in found.values():
            detector.score_threshold = MINED_FEATURELESS_SCORE
        log(f"mining {featureless_frames} featureless frames")
        mine_featureless(featureless_frames, {name: detector.detect for name, detector in found.items()}, crops)

    return load_or_mine(cache, mine, crop_size)


def face_free_or_load(folder: Path, cache: Path, log=print, crop_size: int = CROP_SIZE) -> dict[str, np.ndarray]:
    """The non-face crops mined from the images of ``folder``, which hold no face (the shipped detectors'
    detections down to :data:`MINED_FEATURELESS_SCORE` and random squares), read from ``cache`` when it
    exists, else mined and saved there.

    Raises:
        ValueError: If ``folder`` holds no readable image.
    """
    from detectors.datasets.images import image_files

    paths = image_files(folder)
    if not paths and not cache.is_file():
        raise ValueError(f"no image in {folder} (--negative-images): expected .jpg, .jpeg, .png or .bmp files")

    def mine(crops: CropSet) -> None:
        found = shipped_detectors(MINED_FEATURELESS_SCORE)
        log(f"mining {len(paths)} face-free images of {folder}")
        if mine_face_free_images(paths, {name: detector.detect for name, detector in found.items()}, crops) == 0:
            raise ValueError(f"no readable image in {folder} (--negative-images)")

    return load_or_mine(cache, mine, crop_size)


def extra_positives_or_load(folder: Path, cache: Path, log=print, crop_size: int = CROP_SIZE) -> dict[str, np.ndarray]:
    """The face crops of the labelled images of ``folder`` (jittered labels and the shipped detectors'
    matches; nothing there becomes a negative), read from ``cache`` when it exists, else mined and saved there."""
    from detectors.datasets import read_face_folder

    def mine(crops: CropSet) -> None:
        found = shipped_detectors(MINED_SCORE)
        samples = read_face_folder(folder)
        log(f"mining the faces of {len(samples)} labelled images of {folder}")
        mine_labelled(samples, {name: detector.detect for name, detector in found.items()}, crops, seed=1, faces_only=True)

    return load_or_mine(cache, mine, crop_size)


def edge_cut_faces_or_load(train_folder: Path, cache: Path, log=print, crop_size: int = CROP_SIZE) -> dict[str, np.ndarray]:
    """The labelled faces of ``train_folder`` cut by a simulated frame edge
    (:func:`detectors.verifier.samples.mine_edge_cut_faces`), read from ``cache`` when it exists, else
    mined and saved there."""
    from detectors.datasets import read_face_folder

    def mine(crops: CropSet) -> None:
        samples = read_face_folder(train_folder)
        log(f"cutting the faces of {len(samples)} labelled images by a frame edge")
        mine_edge_cut_faces(samples, crops)

    return load_or_mine(cache, mine, crop_size)


def concatenated(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The crop arrays of every part, one after the other."""
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def held_out_report(mined: dict[str, np.ndarray], probabilities: np.ndarray, threshold: float) -> list[str]:
    """One line per held-out source and label: how many crops the threshold keeps."""
    lines = []
    held = mined["held_out"]
    for source in sorted(set(mined["sources"][held].tolist())):
        for label, name in ((1, "faces"), (0, "non-faces")):
            rows = held & (mined["sources"] == source) & (mined["labels"] == label)
            if rows.any():
                kept = int((probabilities[rows] >= threshold).sum())
                lines.append(f"held-out {source} {name}: {kept} / {int(rows.sum())} kept")
    return lines


def member_checkpoint(run_dir: Path, seed: int) -> Path:
    """Where the verifier trained with ``seed`` is saved in ``run_dir``."""
    return run_dir / f"verifier-seed{seed}.pt"


def load_member(path: Path) -> tuple[FaceVerifierNet, dict]:
    """The verifier saved at ``path`` by :func:`trained_member` (in eval mode) and its recipe (a dict)."""
    saved = torch.load(path, weights_only=True)
    model = FaceVerifierNet(tuple(saved["recipe"]["stage_channels"]))
    model.load_state_dict(saved["weights"])
    return model.eval(), saved["recipe"]


def saved_member(path: Path, stage_channels: tuple[int, ...]) -> FaceVerifierNet:
    """The verifier saved at ``path`` by :func:`trained_member`, in eval mode.

    Raises:
        ValueError: If it has other stage channels than ``stage_channels``.
    """
    model, recipe = load_member(path)
    channels = tuple(recipe["stage_channels"])
    if channels != tuple(stage_channels):
        raise ValueError(f"{path} was trained with stage channels {channels}, not {tuple(stage_channels)}: "
                         "delete it to train again, or ask for its channels")
    return model


def added_members(run_dir: Path, crop_size: int) -> list[nn.Module]:
    """Every network saved in an earlier ``run_dir`` (``verifier-seed*.pt``, each with its own stage
    channels), judging ``crop_size`` px crops: one trained at another size sees them resized to its own
    (:class:`~detectors.verifier.model.ResizedInput`).

    Raises:
        ValueError: If ``run_dir`` holds no saved network.
    """
    paths = sorted(Path(run_dir).glob("verifier-seed*.pt"))
    if not paths:
        raise ValueError(f"{run_dir} holds no trained network (verifier-seedN.pt) to add")
    members: list[nn.Module] = []
    for path in paths:
        model, recipe = load_member(path)
        size = int(recipe.get("crop_size", CROP_SIZE))
        members.append(model if size == crop_size else ResizedInput(model, size).eval())
    return members


def trained_member(mined: dict[str, np.ndarray], recipe: VerifierTraining, run_dir: Path, log=print) -> FaceVerifierNet:
    """The verifier ``recipe`` (its ``seed``) trains on the fitting split of ``mined``: reused from
    :func:`member_checkpoint` when saved there, else trained (from the same seed's member of the
    recipe's ``init_run_dir`` when it names one) and saved.

    Raises:
        ValueError: If a saved one has other stage channels than ``recipe``, or ``init_run_dir`` has
            no member of the seed.
    """
    path = member_checkpoint(run_dir, recipe.seed)
    if path.is_file():
        log(f"reusing the trained weights of {path}")
        return saved_member(path, recipe.stage_channels)
    initial = None
    if recipe.init_run_dir is not None:
        start = member_checkpoint(Path(recipe.init_run_dir), recipe.seed)
        if not start.is_file():
            raise ValueError(f"no {start.name} in {recipe.init_run_dir} to start seed {recipe.seed} from")
        log(f"starting from the weights of {start}")
        initial = saved_member(start, recipe.stage_channels)
    fit = ~mined["held_out"]
    model = train_verifier(mined["crops"][fit], mined["labels"][fit], recipe, log, mined["sides"][fit], initial)
    torch.save({"weights": model.state_dict(), "recipe": recipe.__dict__}, path)
    return model


def train_and_export(train_folder: Path, run_dir: Path, output: Path, recipe: VerifierTraining = VerifierTraining(),
                     featureless_frames: int = FEATURELESS_FRAMES, log=print, negative_images: Path | None = None,
                     extra_positives: Path | None = None, edge_cut_faces: bool = False, calibrate_edge: bool = False,
                     add_members: Path | None = None) -> Path:
    """Mine (or reuse ``run_dir/mined.npz``; ``run_dir/face_free.npz`` for ``negative_images``, a
    folder of images that hold no face; ``run_dir/extra_positives.npz`` for ``extra_positives``, a
    labelled folder whose faces only are used; ``run_dir/edge_cut_faces.npz`` with ``edge_cut_faces``:
    the training faces cut by a simulated frame edge, so that the verifier may judge boxes at the
    frame's edge; with ``calibrate_edge`` instead, only the held-out ones of them set the
    ``edge_threshold`` a rejecter judges edge boxes with, :func:`choose_threshold` on their probabilities,
    at most the threshold), train on the fitting split (or reuse
    ``run_dir/verifier-seed*.pt``: :func:`trained_member`), average them with the networks of an earlier run folder
    ``add_members`` when given (:func:`added_members`), set the threshold on the held-out split of ``train_folder``
    (:func:`choose_threshold`), log the held-out keep rates and write ``output``."""
    if edge_cut_faces and calibrate_edge:
        raise ValueError("a verifier trained on edge-cut faces judges edge boxes at its threshold: "
                         "calibrating an edge threshold as well makes no sense")
    if add_members is not None and Path(add_members).resolve() == Path(run_dir).resolve():
        raise ValueError("--add-members names the run folder itself: its networks are members already")
    size = recipe.crop_size
    added = [] if add_members is None else added_members(add_members, size)
    face_free = None if negative_images is None else face_free_or_load(negative_images, run_dir / "face_free.npz", log, size)
    parts = [mine_or_load(train_folder, run_dir / "mined.npz", featureless_frames, log, size)]
    if face_free is not None:
        parts.append(face_free)
    if extra_positives is not None:
        parts.append(extra_positives_or_load(extra_positives, run_dir / "extra_positives.npz", log, size))
    if edge_cut_faces or calibrate_edge:
        cut = edge_cut_faces_or_load(train_folder, run_dir / "edge_cut_faces.npz", log, size)
        parts.append(cut if edge_cut_faces else {key: values[cut["held_out"]] for key, values in cut.items()})
    mined = concatenated(*parts)
    edge_cut = np.flatnonzero(mined["held_out"] & (mined["sources"] == EDGE_LABEL_SOURCE)) if calibrate_edge else None
    if edge_cut is not None and len(edge_cut) == 0:
        raise ValueError("no held-out edge-cut faces to set the edge threshold on (the train set's held-out images "
                         "hold no face of 16 px or more)")
    fit = ~mined["held_out"]
    unsized = int(np.isnan(mined["sides"][mined["labels"] == 1]).sum())
    if recipe.large_face_weight != 1.0 and unsized:
        log(f"{unsized} face crops have no size (cached before crops kept theirs; delete the run folder's .npz "
            "files to mine again): they are drawn as small faces")
    log(f"{int(fit.sum())} crops to fit ({int(mined['labels'][fit].sum())} faces), {int((~fit).sum())} held out")
    members = [trained_member(mined, replace(recipe, seed=seed), run_dir, log) for seed in recipe.member_seeds()] + added
    model = members[0] if len(members) == 1 else AveragedVerifier(members).eval()
    probabilities = np.zeros(len(fit), np.float32)
    probabilities[~fit] = face_probabilities(model, mined["crops"][~fit])
    threshold = choose_threshold(probabilities[true_detection_rows(mined)])
    log(f"threshold {threshold:.4f}")
    for line in held_out_report(mined, probabilities, threshold):
        log(line)
    notes = {"trained_on": str(train_folder), "epochs": str(recipe.epochs), "seed": str(recipe.seed),
             "stage_channels": ",".join(map(str, recipe.stage_channels))}
    if len(members) != 1:
        notes["members"] = str(len(members))
    if add_members is not None:
        notes["added_members"] = str(add_members)
    if recipe.init_run_dir is not None:
        notes["init_run_dir"] = recipe.init_run_dir
    if recipe.learning_rate != VerifierTraining.learning_rate:
        notes["learning_rate"] = f"{recipe.learning_rate:g}"
    if negative_images is not None:
        notes["negative_images"] = str(negative_images)
    if extra_positives is not None:
        notes["extra_positives"] = str(extra_positives)
    if edge_cut_faces:
        notes[EDGE_CUT_FACES_NOTE] = "1"
    if calibrate_edge:
        edge_threshold = min(choose_threshold(probabilities[edge_cut]), threshold)
        log(f"edge threshold {edge_threshold:.4f} (from {len(edge_cut)} held-out edge-cut faces)")
        notes[EDGE_THRESHOLD_NOTE] = f"{edge_threshold:.6f}"
    if recipe.large_face_weight != 1.0:
        notes["large_face_weight"] = f"{recipe.large_face_weight:g}"
    return export_verifier(model, output, threshold, notes, size)
