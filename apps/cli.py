"""The ``start.py`` command line (typer).

``python start.py [track] PATH...`` is the default command; ``detect``, ``evaluate``, ``train``
and ``export`` are sub-commands. Run any of them with ``--help``.
"""

from __future__ import annotations

import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

from apps.anonymize import AnonymizeMode
from apps.detector_spec import DetectorSpec
from apps.options import CropMode, TrackingOptions
from apps.validation import finite_number, non_empty_path, threads_up_to_cores
from detectors.datasets.folders import LabelFormat
from apps.video_writers import X264_PRESETS, VideoSettings
from tracker import TrackerConfig

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    help="FaceTrack: real-time face detection and tracking in videos, folders and webcams.\n\n"
    "[bold]python start.py ./media[/bold] tracks every video of a folder (the default command is "
    "[bold]track[/bold]); [bold]python start.py --webcam 0[/bold] runs live.",
)
# soft_wrap: a message stays on one line whatever the terminal width (or none, when piped).
console = Console(stderr=True, soft_wrap=True)


class Engine(str, Enum):
    """Where the videos of a batch are processed."""

    local = "local"
    ray = "ray"


class VideoCodec(str, Enum):
    """Codec of annotated.mp4."""

    h264 = "h264"
    mp4v = "mp4v"


EXIT_FAILED_ITEMS = 1
EXIT_USAGE = 2

DetectorOption = Annotated[
    str, typer.Option("--detector", "-d", help="Detector: faceboxes (fast), ainnoface (accurate) or a path to an .onnx model.")
]
ThreadsOption = Annotated[
    Optional[int], typer.Option("--threads", min=1, callback=threads_up_to_cores, help="CPU threads for the detector (default: onnxruntime decides).")
]
DeviceOption = Annotated[str, typer.Option("--device", help="Execution device: auto, cpu, cuda, tensorrt, coreml, directml.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", help="Show ONNX Runtime's own log (hidden otherwise: a device that cannot run is one line).")]
AccurateOption = Annotated[
    bool, typer.Option("--accurate", help="Test-time augmentation: detect at 0.5x, 1x and 2x and mirrored, merge by box voting (finds more faces, 6 network runs per frame).")
]
VerifyOption = Annotated[
    bool, typer.Option("--verify/--no-verify", help="Give every detected face a second look with the face verifier (a small classifier on its crop) and drop those it rejects: false faces on blurred, striped, flat or compressed frames and textures.")
]
MaxSideOption = Annotated[
    int, typer.Option("--max-side", min=1, help="Frames are scaled down so their long side is at most this many pixels before detection.")
]
LabelFormatOption = Annotated[
    Optional[LabelFormat], typer.Option("--format", help="How the data folders are labelled: voc (annotations/*.xml), yolo (labels/*.txt: class cx cy w h, normalised) or wider (wider_face_*_bbx_gt.txt), each with images/ (default: recognised from the folder).", show_default=False)
]
MinSideOption = Annotated[
    Optional[int], typer.Option("--min-side", min=0, help="Frames whose long side is shorter are enlarged to this many pixels before detection (default: the model's recommendation: 640 px for faceboxes, 720 for ainnoface; 0: never enlarge).", show_default=False)
]


def _load(spec: DetectorSpec):
    """Load the detector of ``spec`` or exit with a clear message before any input is touched."""
    from detectors import DetectorLoadError, VerifierLoadError

    try:
        loaded = spec.load()
    except (DetectorLoadError, VerifierLoadError, ValueError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_USAGE) from None
    console.print(f"detector [bold]{escape(_detector_label(spec.name, loaded))}[/bold] on {loaded.providers[0]}")
    note = getattr(loaded, "device_note", None)
    if note:
        console.print(f"[yellow]warning:[/yellow] --device {spec.device}: {escape(note)}")
    return loaded


def _detector_label(name: str, loaded) -> str:
    """The model's architecture, and the file for a model that is not a shipped one (``faceboxes-small2
    (runs/x/model.onnx)``), so a user can tell which model ran."""
    from detectors import BUILTIN_DETECTORS

    return loaded.name if name in BUILTIN_DETECTORS else f"{loaded.name} ({name})"


def _usage_error(message: str) -> NoReturn:
    """Print ``message`` (plain text: brackets stay) as one error line and exit with the usage code."""
    console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(EXIT_USAGE)


def _window(display: Optional[bool], live: bool) -> bool:
    """Whether to show the window: ``--display`` without a screen is a usage error; the live default
    runs headless when no screen answers, and says so (OpenCV's GUI would abort the process)."""
    from apps.display import display_available

    wanted = live if display is None else display
    if not wanted or display_available():
        return wanted
    if display:
        console.print("[red]error:[/red] --display needs a screen and none answers (DISPLAY / WAYLAND_DISPLAY); use --no-display")
        raise typer.Exit(EXIT_USAGE)
    console.print("no screen answers (DISPLAY / WAYLAND_DISPLAY): running without a window")
    return False


@app.command()
def track(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Video files and/or folders of videos.", show_default=False)] = None,
    webcam: Annotated[Optional[int], typer.Option("--webcam", min=0, help="Track live from this camera index.")] = None,
    stream: Annotated[Optional[str], typer.Option("--stream", help="Track live from a stream URL (rtsp://, http://, file).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", parser=non_empty_path, help="Output folder; one subfolder per input.")] = Path("facepics"),
    detector: DetectorOption = "faceboxes",
    detect_every: Annotated[Optional[int], typer.Option("--detect-every", min=1, max=60, help=f"Scan the whole frame with the detector every N frames (and at every shot cut); new faces appear at scans. Between scans each tracked face is looked for in a window around it (see --follow). Default: {TrackingOptions().detect_every}, or 1 with --anonymize (every missed face is a leak).", show_default=False)] = None,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Between full scans, detect every tracked face in a window around its predicted position (one batched detector call per frame); --no-follow only predicts tracks there.")] = True,
    shot_cuts: Annotated[bool, typer.Option("--shot-cuts/--no-shot-cuts", help="Find hard cuts: a cut ends every track and starts a full scan; no id crosses it by position or colour (with --identify a face may get its id back).")] = True,
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0.0, max=1.0, help="Minimum detector score for a new face (default: the model's recommended operating point); weaker detections only keep existing tracks alive.", show_default=False)] = None,
    crops: Annotated[Optional[CropMode], typer.Option("--crops", help="best: one crop per track; all: one every --crop-every frames per track; none. Default: best, or none with --anonymize.", show_default=False)] = None,
    crop_every: Annotated[int, typer.Option("--crop-every", min=1, help="Frames between crops of a track with --crops all.")] = 25,
    video: Annotated[bool, typer.Option("--video/--no-video", help="Write annotated.mp4 for each input.")] = True,
    video_codec: Annotated[VideoCodec, typer.Option("--video-codec", help="h264: H.264 through PyAV, plays everywhere (falls back to mp4v with a warning when PyAV cannot encode); mp4v: OpenCV's MPEG-4 Part 2, no audio.")] = VideoCodec.h264,
    video_preset: Annotated[str, typer.Option("--video-preset", help="libx264 preset: ultrafast (fastest, largest) ... veryslow (smallest).")] = VideoSettings.preset,
    keep_audio: Annotated[bool, typer.Option("--keep-audio/--no-keep-audio", help="Copy the input's audio into annotated.mp4 (H.264 only; when the input has audio).")] = True,
    anonymize: Annotated[Optional[AnonymizeMode], typer.Option("--anonymize", help="Hide faces in the output video (blur, pixelate or solid ellipse) instead of drawing boxes; detected and predicted faces alike.", show_default=False)] = None,
    anonymize_margin: Annotated[float, typer.Option("--anonymize-margin", min=0.0, max=2.0, help="How far the hiding ellipse extends beyond the face box, as a fraction of its size per side.")] = 0.2,
    sharp_crops: Annotated[bool, typer.Option("--sharp-crops", help="With --anonymize: still write the face crops --crops asks for, sharp and recognisable.")] = False,
    display: Annotated[Optional[bool], typer.Option("--display/--no-display", help="Show a live window (default: on for --webcam/--stream when a screen is available).", show_default=False)] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Also process videos in subfolders.")] = False,
    duration: Annotated[Optional[float], typer.Option("--duration", callback=finite_number(0.0, low_inclusive=False), help="Live mode: stop after this many seconds.")] = None,
    every_frame: Annotated[bool, typer.Option("--every-frame", help="Live mode: process every frame of the stream in order, as for a file, instead of skipping the frames that arrive while one is processed (for file-like URLs and recordings served faster than real time).")] = False,
    max_age: Annotated[float, typer.Option("--max-age", callback=finite_number(0.0), help="Seconds a lost face is remembered so it gets its id back.")] = TrackerConfig().max_age_seconds,
    max_side: MaxSideOption = 1024,
    min_side: MinSideOption = None,
    threads: Annotated[int, typer.Option("--threads", min=1, callback=threads_up_to_cores, help="CPU threads for the detector; 1 leaves the other cores to decoding and encoding, which is fastest overall on small machines.")] = 1,
    device: DeviceOption = "auto",
    verbose: VerboseOption = False,
    accurate: AccurateOption = False,
    verify: Annotated[Optional[bool], typer.Option("--verify/--no-verify", help="Give every detected face that could start a track a second look with the face verifier (a small classifier on its crop) and drop those it rejects: false faces on blurred, striped, flat or compressed frames and textures. Default: on, off with --anonymize (hiding a false face costs little, missing a true one is a leak).", show_default=False)] = None,
    mirror: Annotated[Optional[bool], typer.Option("--mirror/--no-mirror", help="Also detect on the mirrored frame and merge (2 network runs per frame): finds faces the detector scores weakly. Default: on with --anonymize (a missed face is a leak), off otherwise.", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Videos processed at the same time, each in its own process with its own detector (default: one per two CPU cores, at most one per video).", show_default=False)] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="local: this machine (--workers processes); ray: one task per video on a Ray cluster (pip install 'facetrack[distributed]').")] = Engine.local,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster to join, e.g. ray://head:10001 or auto (default: start a local Ray instance).", show_default=False)] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write OUTPUT/index.html: every video of the output folder with its faces, tracks on a timeline and player.")] = True,
    identify: Annotated[bool, typer.Option("--identify", help="Describe every track's best face (128-D descriptor; pip install -e '.[identity]') and group the tracks of all videos into people: OUTPUT/people.json, \"person\" in tracks.jsonl.")] = False,
    known_faces: Annotated[Optional[Path], typer.Option("--known-faces", help="Folder of known people (<name>/*.jpg|png or <name>.jpg|png): a track close enough to a person's photos gets the name, others none. Implies --identify.", show_default=False)] = None,
) -> None:
    """Track faces in videos (default command) or live from a webcam/stream.

    Writes, per input, OUTPUT/<name>/annotated.mp4, tracks.txt (MOTChallenge), tracks.jsonl,
    faces/<track-id>/*.jpg and summary.json; then OUTPUT/index.html over every video of OUTPUT.
    """
    from apps.batch import failure_line, process_batch, summary_table
    from apps.detector_spec import ANONYMIZE_MASK_SCORE, prepare_for_tracking
    from apps.parallel import BatchJob, default_workers, process_batch_in_processes
    from apps.discovery import discover_inputs
    from apps.ignored_options import warn_ignored_options
    from apps.interrupts import StopSignals
    from apps.live import run_live
    from apps.video_job import VideoResult

    live_device: int | str | None = webcam if webcam is not None else stream
    if video_preset not in X264_PRESETS:
        console.print(f"[red]error:[/red] --video-preset must be one of {', '.join(X264_PRESETS)}")
        raise typer.Exit(EXIT_USAGE)
    if live_device is None and not paths:
        console.print("[red]error:[/red] give video files or folders, or --webcam N / --stream URL (see --help)")
        raise typer.Exit(EXIT_USAGE)
    if webcam is not None and stream is not None:
        console.print("[red]error:[/red] use either --webcam or --stream, not both")
        raise typer.Exit(EXIT_USAGE)
    if anonymize and crops not in (None, CropMode.none) and not sharp_crops:
        console.print("[red]error:[/red] --crops best|all writes recognisable faces, which --anonymize hides; add --sharp-crops to write them anyway")
        raise typer.Exit(EXIT_USAGE)
    warn_ignored_options(ctx, None if live_device is None else "--webcam" if webcam is not None else "--stream",
                         engine is Engine.ray, crops is CropMode.all)
    window = _window(display, live_device is not None)
    inputs, problems = ([], []) if live_device is not None else discover_inputs(list(paths or []), output, recursive)
    skipped = [VideoResult(input=str(problem.path), output_dir="", status="skipped", message=problem.reason)
               for problem in problems]
    for result in skipped:
        console.print(failure_line(result), style="red", markup=False, highlight=False)
    if live_device is None and not inputs:
        Console().print(summary_table(skipped, output))
        raise typer.Exit(EXIT_FAILED_ITEMS)
    if engine is Engine.ray and live_device is None:
        _require_ray()
    identify = identify or known_faces is not None
    if identify:
        _require_identity()
    spec = DetectorSpec(name=detector, threshold=threshold, threads=threads, device=device, max_side=max_side,
                        min_side=min_side, accurate=accurate, mirrored=anonymize is not None if mirror is None else mirror,
                        mask_score=ANONYMIZE_MASK_SCORE if anonymize else None,
                        verify=anonymize is None if verify is None else verify, verbose=verbose)
    loaded = _load(spec)
    high, low = prepare_for_tracking(loaded, spec.mask_score)
    gallery = _load_gallery(known_faces, loaded.detect, high) if known_faces is not None else None
    options = TrackingOptions(
        detect_every=detect_every or (1 if anonymize else TrackingOptions().detect_every),
        follow=follow,
        shot_cuts=shot_cuts,
        crops=crops if crops is not None else (CropMode.none if anonymize else CropMode.best),
        crop_every=crop_every,
        anonymize=anonymize,
        anonymize_margin=anonymize_margin,
        write_video=video,
        video=VideoSettings(codec=video_codec.value, preset=video_preset, keep_audio=keep_audio),
        display=window,
        tracker=TrackerConfig(high_score=high, low_score=low, max_age_seconds=max_age),
        identify=identify,
    )
    extra = {"detector": loaded.name, "threshold": high, "low_threshold": low}
    # A window needs this process's GUI thread: with --display the videos run here, one at a time.
    processes = 1 if options.display else workers or default_workers(len(inputs))
    with StopSignals() as signals:
        if live_device is not None:
            results = [run_live(live_device, output, loaded.detect, options, signals.event, duration=duration,
                                every_frame=every_frame)]
            if not results[0].ok:
                console.print(failure_line(results[0]), style="red", markup=False, highlight=False)
        elif engine is Engine.ray:
            results = _run_on_ray(inputs, BatchJob(output, options, spec, extra), ray_address, signals.event)
        elif processes > 1:
            results = process_batch_in_processes(inputs, BatchJob(output, options, spec, extra), processes,
                                                 signals.event, console)
        else:
            results = process_batch(inputs, output, loaded.detect, options, signals.event, console, extra)
    Console().print(summary_table(skipped + results, output))
    if identify and output.is_dir():
        _write_people(output, results, gallery)
    if report and output.is_dir():  # no output folder: nothing was written to show
        _write_report(output, skipped + results)
    if signals.exit_code is not None:
        raise typer.Exit(signals.exit_code)
    if problems or any(not result.ok for result in results):
        raise typer.Exit(EXIT_FAILED_ITEMS)


@app.command()
def detect(
    path: Annotated[Path, typer.Argument(help="An image, or a folder of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the WIDER FACE result files (<stem>.txt).")],
    detector: DetectorOption = "faceboxes",
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0.0, max=1.0, help="Minimum detector score (default: the model's recommended operating point).", show_default=False)] = None,
    draw: Annotated[bool, typer.Option("--draw", help="Also write annotated copies (<stem>.jpg).")] = False,
    max_side: MaxSideOption = 1024,
    min_side: MinSideOption = None,
    threads: ThreadsOption = None,
    device: DeviceOption = "auto",
    verbose: VerboseOption = False,
    accurate: AccurateOption = False,
    verify: VerifyOption = True,
) -> None:
    """Detect faces in still images and write one WIDER FACE result file per image."""
    from apps.detect_images import create_output, detect_images, input_problem, list_images
    from apps.writers import OutputWriteError

    problem = input_problem(path)
    if problem is not None:
        console.print(f"[red]error:[/red] {escape(str(path))}: {problem}")
        raise typer.Exit(EXIT_USAGE)
    images = list_images(path)
    if not images:
        console.print(f"[red]error:[/red] {escape(str(path))}: no images found")
        raise typer.Exit(EXIT_FAILED_ITEMS)
    loaded = _load(DetectorSpec(detector, threshold, threads, device, max_side, min_side=min_side, accurate=accurate,
                                  verify=verify, rerank=True, verbose=verbose))
    try:
        create_output(output)
    except OutputWriteError as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_USAGE) from None
    outcomes = detect_images(images, output, loaded.detect, draw)
    failed = [outcome for outcome in outcomes if outcome.error]
    for outcome in failed:
        console.print(f"[red]skipped[/red]: {outcome.path}: {outcome.error}")
    faces = sum(outcome.faces for outcome in outcomes)
    console.print(f"{len(outcomes) - len(failed)} images, {faces} faces, {len(failed)} failed -> {output}")
    if failed:
        raise typer.Exit(EXIT_FAILED_ITEMS)


@app.command()
def evaluate(
    data: Annotated[Path, typer.Argument(help="Folder of labelled images: Pascal VOC, YOLO or WIDER FACE (see --format).", show_default=False)],
    detector: DetectorOption = "faceboxes",
    compare: Annotated[Optional[list[str]], typer.Option("--compare", help="Also evaluate this detector (name or .onnx file; repeat the option) on the same images, one row each: e.g. your model with --detector and the shipped one with --compare faceboxes.", show_default=False)] = None,
    pr_plot: Annotated[Optional[Path], typer.Option("--pr-plot", help="Also write a precision-recall plot per face size of every evaluated detector to this PNG file (needs matplotlib).", show_default=False)] = None,
    label_format: LabelFormatOption = None,
    max_side: MaxSideOption = 1024,
    min_side: MinSideOption = None,
    upscale: Annotated[float, typer.Option("--upscale", callback=finite_number(0.0, 8.0, low_inclusive=False), help="Scale frames up by this factor before detection (finds smaller faces, slower).")] = 1.0,
    subset: Annotated[Optional[Path], typer.Option("--subset", exists=True, dir_okay=False, help="Text file listing the image stems to use (e.g. dev-clean.txt).")] = None,
    threads: ThreadsOption = None,
    device: DeviceOption = "auto",
    accurate: AccurateOption = False,
    verify: VerifyOption = True,
) -> None:
    """AP@0.5 overall and per face size (<16, 16-32, 32-64, >=64 px) on a folder of labelled images."""
    from rich.table import Table

    from detectors.datasets import LabelError, read_face_folder
    from detectors.evaluation.ap import EVALUATION_SCORE_FLOOR, SIZE_BUCKETS, evaluate_detections
    from detectors.evaluation.runner import format_ap_row, run_on_samples

    try:
        samples = read_face_folder(data, label_format, subset.read_text().split() if subset else None)
    except LabelError as error:
        _usage_error(str(error))
    if pr_plot is not None:
        try:
            from detectors.evaluation.pr_plot import plot_precision_recall
        except ImportError as error:
            _usage_error(f"--pr-plot needs matplotlib: pip install -e '.[train]' ({error})")
    table = Table(title=escape(f"AP@0.5 on {data} ({len(samples)} images)"))
    for column in ["detector", *SIZE_BUCKETS, "ms/image"]:
        table.add_column(escape(column))
    detections = {}
    for name in [detector, *(compare or [])]:
        loaded = _load(DetectorSpec(name, EVALUATION_SCORE_FLOOR, threads, device, max_side=max_side if upscale == 1.0 else None,
                                    upscale=upscale, accurate=accurate, min_side=min_side, verify=verify,
                                    rerank=True))
        label = _detector_label(name, loaded)
        try:
            detections[label], ms = run_on_samples(loaded.detect, samples)
        except LabelError as error:
            _usage_error(str(error))
        results = evaluate_detections(samples, detections[label])
        table.add_row(escape(label), *format_ap_row(results), f"{ms:.1f}")
    table.add_row("faces", *[str(results[name]["faces"]) for name in SIZE_BUCKETS], "")
    Console().print(table)
    if pr_plot is not None:
        written = plot_precision_recall(samples, detections, pr_plot)
        console.print(f"precision-recall plot: {written}", markup=False, highlight=False)


@app.command()
def train(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Folder for checkpoints, log.jsonl and training.png; an existing run is resumed.")] = Path("runs/faceboxes-small2"),
    family: Annotated[str, typer.Option("--family", help="Detector family: faceboxes or ainnoface.")] = "faceboxes",
    variant: Annotated[Optional[str], typer.Option("--variant", help="FaceBoxes: small2 (shipped, the default), small or paper (the published configuration); AInnoFace: small (the default) or paper.", show_default=False)] = None,
    train_sets: Annotated[Optional[list[Path]], typer.Option("--train-set", help="Folder of labelled training images: Pascal VOC, YOLO or WIDER FACE (repeat the option for several). Needed for a new run; a resumed run reads its own folders unless given.", show_default=False)] = None,
    dev_set: Annotated[Optional[Path], typer.Option("--dev-set", help="Labelled folder for the dev AP and the choice of best.pt (default: none, and best.pt is the last epoch; a resumed run keeps its own).", show_default=False)] = None,
    label_format: LabelFormatOption = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Total epochs of the schedule.")] = 90,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 16,
    image_size: Annotated[int, typer.Option("--image-size", help="Side of the square training crops.")] = 512,
    learning_rate: Annotated[float, typer.Option("--lr", help="Peak learning rate (AdamW, one-cycle).")] = 2e-3,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Data-loading processes.")] = 2,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Torch CPU threads.")] = 2,
    init_from: Annotated[Optional[Path], typer.Option("--init-from", help="Start from the weights of this checkpoint (fine-tuning), e.g. runs/shipped-faceboxes.pt.")] = None,
    das_probability: Annotated[Optional[float], typer.Option("--das", min=0.0, max=1.0, help="Share of training crops made by data-anchor-sampling (PyramidBox: a face rescaled to a random anchor size) instead of the square crop. Default: 0 for FaceBoxes, 0.5 for AInnoFace.", show_default=False)] = None,
    background_weight: Annotated[float, typer.Option("--background-weight", min=0.0, help="Weight of the loss term over all background anchors (keeps scores calibrated).")] = 1.0,
    giou_weight: Annotated[float, typer.Option("--giou-weight", min=0.0, help="FaceBoxes: weight of a GIoU loss on the decoded boxes, added to smooth L1 (0 = the paper's loss). AInnoFace always uses GIoU.")] = 0.0,
    ema_decay: Annotated[float, typer.Option("--ema-decay", min=0.0, max=0.9999, help="Evaluate, select and export an exponential moving average of the weights with this decay (e.g. 0.999; 0 = off).")] = 0.0,
    eval_every: Annotated[int, typer.Option("--eval-every", min=1, help="Dev AP every this many epochs (and after the last).")] = 4,
    eval_min_side: Annotated[Optional[int], typer.Option("--eval-min-side", min=1, help="Dev images with a shorter long side are enlarged to it for the dev AP; use the --min-side you will export with.", show_default=False)] = None,
    eval_vote_max_size: Annotated[Optional[float], typer.Option("--eval-vote-max-size", min=1.0, help="Box voting below this size for the dev AP; use the --vote-max-size you will export with.", show_default=False)] = None,
    keep_epochs: Annotated[bool, typer.Option("--keep-epochs", help="Also save every epoch's weights as epoch_NNN.pt (to average them: python -m detectors.training.average).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the weights' initialisation, the data order and the augmentation.")] = 0,
    bf16: Annotated[bool, typer.Option("--bf16/--fp32", help="bfloat16 autocast + channels-last (about 2x faster on CPUs with AMX/AVX512-BF16).")] = True,
    negatives: Annotated[float, typer.Option("--negatives", min=0.0, max=0.9, help="Share of each epoch that is face-free hard negatives (crops of the training images away from faces, flat, gradient, noise and texture frames).")] = 0.08,
    trainable: Annotated[Optional[list[str]], typer.Option("--trainable", help="Fine-tune only the parameters under this name prefix (repeat for several, e.g. head.classifiers); the rest and its BatchNorms stay as loaded.", show_default=False)] = None,
    frozen_norms: Annotated[bool, typer.Option("--frozen-norms", help="Every BatchNorm keeps the running statistics it was loaded with (fine-tuning).")] = False,
    distill_weight: Annotated[float, typer.Option("--distill-weight", min=0.0, help="Fine-tuning: also learn the --init-from weights' answers on crops with faces, with this weight (0 = off), so new negatives do not cost what the model knew.")] = 0.0,
    blur: Annotated[float, typer.Option("--blur", min=0.0, max=1.0, help="Share of training crops blurred by a random motion streak or defocus (faces stay labelled).")] = 0.0,
    masks: Annotated[float, typer.Option("--masks", min=0.0, max=1.0, help="Probability that a face of a training crop gets a face mask painted over its lower half.")] = 0.0,
    blur_ignore_ratio: Annotated[float, typer.Option("--blur-ignore-ratio", min=0.0, help="With --blur: a blurred face smaller than this times the blur's extent (streak length, 3 sigma of defocus) is ignored instead of learnt as a face (0 = off).")] = 0.0,
    copy_paste: Annotated[float, typer.Option("--copy-paste", min=0.0, max=1.0, help="Share of training crops that get up to 4 small copies (12-32 px) of their own larger faces pasted in, each labelled.")] = 0.0,
) -> None:
    """Train (or resume) a detector on folders of labelled images (needs the 'train' extra: torch).

    Shows a progress bar per epoch and a table row per epoch; writes RUN_DIR/best.pt, last.pt,
    log.jsonl and training.png (losses and dev AP per face size over the epochs).
    """
    try:
        from detectors.training.train import TrainConfig, TrainingSetupError, recorded_config
        from detectors.training.train import train as run_training
    except ImportError as error:
        _usage_error(f"training needs torch and matplotlib: pip install -e '.[train]' ({error})")
    from apps.training_progress import RichTrainingProgress
    from detectors.datasets import LabelError

    data = {"train_sets": [str(path) for path in train_sets or []], "dev_set": str(dev_set) if dev_set else None,
            "label_format": label_format.value if label_format else None}
    if not train_sets:
        recorded = recorded_config(run_dir)
        if recorded is None:
            _usage_error(f"give the training data: --train-set FOLDER (no run to resume in {run_dir}; see --help)")
        data = {key: data[key] or recorded.get(key) for key in data}
    config = TrainConfig(
        run_dir=str(run_dir), family=family, variant=variant, **data,
        epochs=epochs, batch_size=batch_size, image_size=image_size, learning_rate=learning_rate,
        workers=workers, threads=threads, init_from=str(init_from) if init_from else None,
        background_weight=background_weight, giou_weight=giou_weight, das_probability=das_probability, bf16=bf16,
        ema_decay=ema_decay, eval_every=eval_every, eval_min_side=eval_min_side, eval_vote_max_size=eval_vote_max_size,
        keep_epochs=keep_epochs, seed=seed, negative_fraction=negatives, trainable=list(trainable or []),
        frozen_norms=frozen_norms, distill_weight=distill_weight, blur_probability=blur, mask_probability=masks,
        smeared_face_ratio=blur_ignore_ratio, copy_paste_probability=copy_paste,
    )
    try:
        with RichTrainingProgress(console) as progress:
            run_training(config, log=lambda message: console.print(message, markup=False, highlight=False),
                         progress=progress)
    except (LabelError, TrainingSetupError) as error:
        _usage_error(str(error))
    console.print(f"run: {run_dir} (best.pt, last.pt, log.jsonl, training.png); "
                  f"next: python start.py export {run_dir / 'best.pt'}", markup=False, highlight=False)


def _stage_channels(text: str) -> tuple[int, int, int]:
    """``--stage-channels``' three positive integers, or a usage error."""
    try:
        channels = tuple(int(part) for part in text.split(","))
    except ValueError:
        channels = ()
    if len(channels) != 3 or min(channels) < 1:
        _usage_error(f"--stage-channels {text!r}: expected three positive integers such as 16,32,64")
    return channels


@app.command("train-verifier")
def train_verifier(
    train_set: Annotated[Path, typer.Option("--train-set", help="Folder of labelled training images (Pascal VOC, YOLO or WIDER FACE).")],
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Folder for the mined crops (mined.npz, reused when present) and the trained networks (verifier-seedN.pt, reused when present).")] = Path("runs/verifier"),
    output: Annotated[Path, typer.Option("--output", "-o", help="ONNX file to write.")] = Path("runs/verifier/verifier.onnx"),
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 12,
    featureless_frames: Annotated[int, typer.Option("--featureless-frames", min=0, help="Generated featureless frames mined for negatives.")] = 1500,
    negative_images: Annotated[Optional[Path], typer.Option("--negative-images", help="Folder of images that hold no face (your empty scenes, objects, animals): the detectors' detections on them and random squares become negatives too (mined once, cached as face_free.npz in the run folder).")] = None,
    extra_positives: Annotated[Optional[Path], typer.Option("--extra-positives", help="Folder of labelled images whose labels are trusted only as faces (machine-labelled images, where a missed face must not become a negative): their faces become faces too, nothing else of them is used (mined once, cached as extra_positives.npz).")] = None,
    edge_cut_faces: Annotated[bool, typer.Option("--edge-cut-faces", help="Also train on the labelled faces cut by a simulated frame edge (people entering or leaving a shot; mined once, cached as edge_cut_faces.npz): as the shipped rejecter (verifier_rejecter.onnx) such a verifier judges boxes at the frame's edge too.")] = False,
    calibrate_edge: Annotated[bool, typer.Option("--calibrate-edge", help="Without training on them, use the held-out labelled faces cut by a simulated frame edge (cached as edge_cut_faces.npz) to set a threshold of its own for boxes at the frame's edge (99.8 % of those faces kept): as the shipped rejecter (verifier_rejecter.onnx) such a verifier also drops the edge boxes it is surest hold no face. Not with --edge-cut-faces.")] = False,
    large_face_weight: Annotated[float, typer.Option("--large-face-weight", min=1.0, help="Draw faces of 64 px or more this many times as often as smaller ones (large faces are few in most training sets).")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    members: Annotated[int, typer.Option("--members", min=1, help="Train this many verifiers (seeds SEED, SEED+1, ...) and write the mean of their logits as one (steadier than one training; costs as many times the time a face).")] = 1,
    stage_channels: Annotated[str, typer.Option("--stage-channels", help="Channels of the network's three stages, comma-separated (24,48,96 is twice as wide).")] = "16,32,64",
    crop_size: Annotated[int, typer.Option("--crop-size", min=16, max=128, help="Side of the square crop the verifier judges, px (32 by default; a larger crop shows more detail and costs more time a face). Crops are mined at this size: a run folder holds one size.")] = 32,
    init_from_run: Annotated[Optional[Path], typer.Option("--init-from-run", help="Start each network from the one of the same seed saved in this earlier run folder (verifier-seedN.pt): fine-tune a trained verifier on more data, e.g. with --edge-cut-faces, a few --epochs and a lower --learning-rate.")] = None,
    learning_rate: Annotated[float, typer.Option("--learning-rate", min=0.0, help="AdamW's starting learning rate (cosine decay to 0).")] = 1e-3,
    add_members: Annotated[Optional[Path], typer.Option("--add-members", help="Average this run's networks with every network saved in an earlier run folder (verifier-seedN.pt, any stage channels; one trained at another --crop-size sees the crop resized to its own): the threshold is set on the mean.")] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Torch CPU threads.")] = 2,
) -> None:
    """Train the face verifier (the second look at every scan detection) on labelled images (needs the 'train' extra).

    Crops are mined with the shipped detectors: their detections that match a label are faces, those that match none are not, with face-free squares, generated featureless frames and, with --negative-images, their detections on your face-free images. One image in ten is held out and sets the threshold (99.8 % of its true detections scoring 0.4 or more kept).
    """
    try:
        from detectors.verifier.train import VerifierTraining, train_and_export
    except ImportError as error:
        _usage_error(f"training needs torch and onnx: pip install -e '.[train]' ({error})")
    from detectors.datasets import LabelError

    try:
        recipe = VerifierTraining(epochs=epochs, seed=seed, threads=threads, large_face_weight=large_face_weight,
                                  members=members, stage_channels=_stage_channels(stage_channels), learning_rate=learning_rate,
                                  init_run_dir=None if init_from_run is None else str(init_from_run), crop_size=crop_size)
        path = train_and_export(train_set, run_dir, output, recipe, featureless_frames,
                                log=lambda line: console.print(line, markup=False, highlight=False),
                                negative_images=negative_images, extra_positives=extra_positives,
                                edge_cut_faces=edge_cut_faces, calibrate_edge=calibrate_edge, add_members=add_members)
    except (LabelError, ValueError) as error:
        _usage_error(str(error))
    console.print(f"wrote {path}; the shipped one is detectors/weights/verifier.onnx", markup=False, highlight=False)


@app.command()
def export(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint (best.pt or last.pt).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="ONNX file to write (default: model.onnx next to the checkpoint).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT when it exists (without it an existing file is never touched).")] = False,
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0.0, max=1.0, help="Recommended minimum score stored in the model (the default of detect/track).")] = None,
    low_threshold: Annotated[Optional[float], typer.Option("--low-threshold", min=0.0, max=1.0, help="Weaker score that may still extend a track, stored in the model.")] = None,
    min_side: Annotated[Optional[int], typer.Option("--min-side", min=0, help="Recommended minimum long side of the detector input stored in the model: smaller frames are enlarged to it.")] = None,
    vote_max_size: Annotated[Optional[float], typer.Option("--vote-max-size", min=1.0, help="Stored in the model: merge each detected face smaller than this (px at the network input) with its confident overlapping candidates (box voting) instead of keeping NMS's box alone.", show_default=False)] = None,
) -> None:
    """Export a training checkpoint to ONNX (dynamic input size) for --detector."""
    target = output or checkpoint.with_name("model.onnx")
    if not checkpoint.is_file():
        _usage_error(f"{checkpoint}: no such checkpoint (train writes RUN_DIR/best.pt and last.pt)")
    if target.exists() and not overwrite:
        _usage_error(f"{target} exists and is left as it is: choose another --output, or add --overwrite to replace it")
    try:
        from detectors.training.families import export_trained
    except ImportError as error:
        _usage_error(f"export needs torch and onnx: pip install -e '.[train]' ({error})")
    from apps.checkpoints import checkpoint_problem

    problem = checkpoint_problem(checkpoint)
    if problem is not None:
        _usage_error(f"{checkpoint}: {problem}")
    metadata = {key: str(value) for key, value in
                (("score_threshold", threshold), ("low_score_threshold", low_threshold), ("min_input_side", min_side),
                 ("vote_max_size", vote_max_size))
                if value is not None}
    path = export_trained(checkpoint, target, metadata)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); use it: python start.py VIDEO --detector {path}",
                  markup=False, highlight=False)


COMMANDS = {"track", "detect", "evaluate", "train", "train-verifier", "export"}
#: Commands that run the detector, so need exactly one ONNX Runtime package.
RUNTIME_COMMANDS = {"track", "detect", "evaluate", "train-verifier"}
HELP_OPTIONS = {"--help", "-h"}


def _quiet_native_logs() -> None:
    """Silence OpenCV's and FFmpeg's own log lines (``moov atom not found``, ``can't open camera by
    index``...): every problem is reported in one line of ours. Set ``OPENCV_LOG_LEVEL`` or
    ``OPENCV_FFMPEG_LOGLEVEL`` to see them again."""
    import cv2

    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when FFmpeg first opens a file


def _write_report(output: Path, results: list) -> None:
    """OUTPUT/index.html; a report that cannot be written is one warning line, never a lost result."""
    try:
        from apps.report import write_report

        path = write_report(output, results)
    except Exception as error:  # noqa: BLE001 - the videos' results are already written
        console.print(f"[yellow]warning:[/yellow] no report: {escape(str(error) or type(error).__name__)}")
        return
    Console(soft_wrap=True).print(f"report: {path}", markup=False, highlight=False)  # stdout, as the table


def _require_identity() -> None:
    """Exit with one clear line when the ``identity`` extra (dlib and its landmark model) is missing."""
    from apps.descriptors import identity_problem

    problem = identity_problem()
    if problem is not None:
        console.print(f"[red]error:[/red] {escape(f'--identify/--known-faces: {problem}')}")
        raise typer.Exit(EXIT_USAGE)


def _load_gallery(folder: Path, detect, high: float):
    """The known people of ``folder`` (one warning line per unusable photo), or exit before any video is read."""
    from apps.gallery import GalleryError, confident_faces, load_gallery
    from apps.track_descriptors import shared_describer

    def warn(line: str) -> None:
        console.print(f"[yellow]warning:[/yellow] {escape(line)}")

    try:
        gallery = load_gallery(folder, confident_faces(detect, high), shared_describer(), warn)
    except (GalleryError, OSError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_USAGE) from None
    console.print(f"known faces: {len(gallery.people)} people, {len(gallery.names)} photos", markup=False, highlight=False)
    return gallery


def _write_people(output: Path, results: list, gallery) -> None:
    """OUTPUT/people.json and a person per track; a failure is one warning line, never a lost result."""
    from apps.people import write_people
    from apps.writers import OutputWriteError

    try:
        path = write_people(output, results, gallery)
    except (OSError, ValueError, KeyError, TypeError, OutputWriteError) as error:
        console.print(f"[yellow]warning:[/yellow] no people.json: {escape(str(error) or type(error).__name__)}")
        return
    Console(soft_wrap=True).print(f"people: {path}", markup=False, highlight=False)


def _require_ray() -> None:
    """Exit with a clear message when Ray is not installed."""
    try:
        import ray  # noqa: F401
    except ImportError as error:
        message = f"--engine ray needs Ray: pip install 'facetrack[distributed]' ({error})"
        console.print(f"[red]error:[/red] {escape(message)}")
        raise typer.Exit(EXIT_USAGE) from None


def _run_on_ray(inputs: list, job: object, address: str | None, stop: object) -> list:
    """The batch on Ray; exits when the cluster cannot be reached."""
    from apps.ray_engine import RayUnavailable, process_batch_on_ray

    try:
        return process_batch_on_ray(inputs, job, stop, console, address)
    except RayUnavailable as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_FAILED_ITEMS) from None


class _ConsoleWarnings(logging.Handler):
    """Shows warnings of the ``facetrack`` logger as one yellow line on the console."""

    def emit(self, record: logging.LogRecord) -> None:
        console.print(f"[yellow]warning:[/yellow] {escape(record.getMessage())}")


def _show_warnings() -> None:
    logger = logging.getLogger("facetrack")
    if not any(isinstance(handler, _ConsoleWarnings) for handler in logger.handlers):
        logger.addHandler(_ConsoleWarnings(logging.WARNING))


def _runtime_problem(args: list[str]) -> str | None:
    """What is wrong with the installed ONNX Runtime, for the commands that run the detector (not for help)."""
    from detectors.installation import runtime_install_problem

    if args[0] not in RUNTIME_COMMANDS or HELP_OPTIONS & set(args):
        return None
    return runtime_install_problem()


def main(argv: list[str] | None = None, prog_name: str = "start.py") -> int:
    """Entry point: ``track`` is implied when the first argument is not a command name.

    A path starting with ``-`` is given after ``--`` (``start.py -o out -- -x.mp4``) or as ``./-x.mp4``.
    ``prog_name`` is the name usage lines show (``facetrack`` for the installed command). Ctrl-C
    exits with 130, without a traceback, from the first line on (see :func:`interrupt_exits`).
    """
    from apps.interrupts import interrupt_exits

    try:
        with interrupt_exits():
            return _main(argv, prog_name)
    except SystemExit as interrupted:  # Ctrl-C before typer runs (typer's own exits are handled in _main)
        return int(interrupted.code or 0)


def _main(argv: list[str] | None, prog_name: str) -> int:
    """:func:`main` without its Ctrl-C guard."""
    _quiet_native_logs()
    _show_warnings()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in COMMANDS and args[0] not in HELP_OPTIONS:
        args.insert(0, "track")
    problem = _runtime_problem(args) if args else None
    if problem:
        console.print(f"[red]error:[/red] {escape(problem)}")
        return EXIT_USAGE
    try:
        # Standalone mode prints usage errors as one message (exit code 2) and exits via SystemExit.
        app(args=args, prog_name=prog_name)
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        console.print(str(done.code))
        return 1
    return 0


def facetrack() -> int:
    """The installed ``facetrack`` command: :func:`main` under that name."""
    return main(prog_name="facetrack")
