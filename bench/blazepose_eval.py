"""BlazePose (MediaPipe 0.10.14) on every annotated person of rendered shards; runs in the realism venv.

  bench/.venv-realism/bin/python bench/blazepose_eval.py --output people.jsonl SHARD_DIR [SHARD_DIR ...]
  bench/.venv-realism/bin/python bench/blazepose_eval.py --self-test

For each COCO annotation: crop the image to a square around its box (enlarged 25%, clipped), run BlazePose
(``static_image_mode=True, model_complexity=1, enable_segmentation=True``: the full landmark model and its person
segmentation, both inside the wheel), map the 33 landmarks to COCO-17 in image pixels and write one JSON line:
``detected`` (a pose came back), ``found`` (detected and the landmarks' centroid lies inside the person's box),
``oks`` against the labelled keypoints (None without any), ``seg_iou`` (BlazePose's person mask, > 0.5, against
our visible mask, within the crop), plus body, mode, viewpoint, scene, pose strategy and template (frames.jsonl),
extremeness, the visible box height and the predicted keypoints. Nothing is downloaded: a model missing from the
wheel is an error, and urllib is disabled.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realism_metrics import blazepose_to_coco, centroid_inside, crop_box, mask_iou, oks, to_image_coordinates


def _no_network(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the realism benchmark downloads nothing; a BlazePose model is missing from the wheel")


def make_pose() -> Any:
    """BlazePose with the models shipped in the mediapipe wheel; refuses any download."""
    urllib.request.urlopen = _no_network
    import mediapipe as mp
    from mediapipe.python.solutions import download_utils

    root = Path(mp.__file__).resolve().parent.parent

    def ship_only(model_path: str) -> None:
        if not (root / model_path).is_file():
            _no_network()

    download_utils.download_oss_model = ship_only
    for model in ("pose_detection/pose_detection.tflite", "pose_landmark/pose_landmark_full.tflite"):
        if not (root / "mediapipe" / "modules" / model).is_file():
            raise RuntimeError(f"mediapipe {mp.__version__} ships no {model}; install mediapipe==0.10.14")
    return mp.solutions.pose.Pose(
        static_image_mode=True, model_complexity=1, min_detection_confidence=0.5, enable_segmentation=True
    )


def detect(
    pose: Any, image_bgr: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(33, 3) landmarks in full-image pixels plus visibility, and BlazePose's person mask of the crop (bool, or
    None without segmentation); None when BlazePose finds nobody in ``box``."""
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(image_bgr[y0:y1, x0:x1, ::-1])
    result = pose.process(crop)
    if result.pose_landmarks is None:
        return None
    raw = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], dtype=float)
    landmarks = np.concatenate([to_image_coordinates(raw[:, :2], box), raw[:, 2:3]], axis=1)
    mask = getattr(result, "segmentation_mask", None)
    return landmarks, None if mask is None else np.asarray(mask) > 0.5


def visible_mask(ann: dict[str, Any], box: tuple[int, int, int, int]) -> np.ndarray | None:
    """Our visible mask of the person (COCO RLE) within the crop ``box``; None without pycocotools."""
    try:
        from pycocotools import mask as mask_utils
    except ImportError:
        return None
    rle = dict(ann["segmentation"])
    if isinstance(rle.get("counts"), str):
        rle["counts"] = rle["counts"].encode("ascii")
    x0, y0, x1, y1 = box
    return mask_utils.decode(rle)[y0:y1, x0:x1].astype(bool)


def evaluate_person(pose: Any, image_bgr: np.ndarray, ann: dict[str, Any]) -> dict[str, Any]:
    height, width = image_bgr.shape[:2]
    box = crop_box(ann["bbox"], width, height)
    detected = detect(pose, image_bgr, box)
    labelled = sum(1 for v in ann["keypoints"][2:51:3] if v > 0)
    record: dict[str, Any] = {"crop": list(box), "labelled_keypoints": labelled, "detected": detected is not None}
    if detected is None:
        return record | {"found": False, "oks": None, "seg_iou": None, "predicted": None}
    landmarks, segmentation = detected
    coco = blazepose_to_coco(landmarks)
    found = centroid_inside(landmarks[:, :2], ann["bbox"])
    ours = visible_mask(ann, box) if segmentation is not None and "segmentation" in ann else None
    return record | {
        "found": found,
        "oks": oks(coco[:, :2], ann["keypoints"], ann["area"]),
        "seg_iou": None if ours is None else mask_iou(segmentation, ours),
        "predicted": [[round(float(x), 2), round(float(y), 2), round(float(s), 3)] for x, y, s in coco],
    }


def shard_people(shard_dir: Path) -> tuple[dict[str, Any], dict[int, dict[str, Any]], dict[str, str]]:
    """coco.json, per annotation id the frames.jsonl person record (strategy, body_model, ...), and per image file
    the frame's camera class ("unknown" for shards from before camera classes)."""
    coco = json.loads((shard_dir / "coco.json").read_text())
    persons: dict[int, dict[str, Any]] = {}
    cameras: dict[str, str] = {}
    with open(shard_dir / "frames.jsonl") as lines:
        for line in lines:
            frame = json.loads(line)
            cameras[frame.get("file_name", "")] = frame.get("photo", {}).get("camera", "unknown")
            for person in frame["persons"]:
                if person.get("annotation_id") is not None:
                    persons[int(person["annotation_id"])] = person
    return coco, persons, cameras


def evaluate_shard(pose: Any, shard_dir: Path, out: Any, counter: list[int]) -> None:
    coco, persons, cameras = shard_people(shard_dir)
    images = {image["id"]: image for image in coco["images"]}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image_id, anns in sorted(by_image.items()):
        image = images[image_id]
        pixels = cv2.imread(str(shard_dir / image["file_name"]))
        if pixels is None:
            raise FileNotFoundError(f"missing image {shard_dir / image['file_name']}")
        for ann in anns:
            person = persons.get(int(ann["id"]), {})
            record = {
                "shard": shard_dir.name,
                "run": shard_dir.parent.parent.name,
                "image_id": image_id,
                "file_name": image["file_name"],
                "annotation_id": ann["id"],
                "body": ann.get("body_model") or person.get("body_model") or "unknown",
                "mode": image.get("mode", "unknown"),
                "viewpoint": image.get("viewpoint", "default"),
                "layout": image.get("layout", "unknown"),
                "camera": cameras.get(image["file_name"], "unknown"),
                "scene": image.get("scene", image_id),
                "strategy": person.get("strategy", "unknown"),
                "template": person.get("template"),
                "extremeness": ann.get("extremeness"),
                "height_px": round(float(ann["bbox"][3]) * 480.0 / float(image["height"]), 2),
                "bbox": ann["bbox"],
                "area": ann["area"],
            }
            record |= evaluate_person(pose, pixels, ann)
            out.write(json.dumps(record) + "\n")
            counter[0] += 1
            if counter[0] % 50 == 0:
                print(f"[blazepose] {counter[0]} people evaluated", file=sys.stderr, flush=True)


def self_test() -> int:
    """BlazePose on a photograph that ships with matplotlib (Grace Hopper's portrait), no download."""
    import matplotlib.cbook

    path = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    image = cv2.imread(str(path))
    height, width = image.shape[:2]
    with make_pose() as pose:
        detected = detect(pose, image, (0, 0, width, height))
    if detected is None:
        print(f"self-test FAILED: BlazePose found nobody in {path}", file=sys.stderr)
        return 1
    landmarks, segmentation = detected
    coco = blazepose_to_coco(landmarks)
    nose, left_shoulder, right_shoulder = coco[0], coco[5], coco[6]
    ok_mask = segmentation is not None and 0.05 < float(segmentation.mean()) < 0.95
    ok = 0 <= nose[0] < width and 0 <= nose[1] < height and left_shoulder[0] > right_shoulder[0] and ok_mask
    import mediapipe as mp

    print(
        f"self-test {'ok' if ok else 'FAILED'}: mediapipe {mp.__version__} BlazePose on {path.name} "
        f"({width}x{height}): nose at ({nose[0]:.0f}, {nose[1]:.0f}), left shoulder at x={left_shoulder[0]:.0f}, "
        f"right shoulder at x={right_shoulder[0]:.0f}, person mask "
        f"{'-' if segmentation is None else f'{100 * segmentation.mean():.0f}%'} of the image"
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shards", nargs="*", type=Path, help="rendered shard directories (RUN/shards/shard_K)")
    parser.add_argument("--output", type=Path, help="JSON lines, one per annotated person")
    parser.add_argument("--self-test", action="store_true", help="run BlazePose on a bundled photo and exit")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.shards or args.output is None:
        parser.error("give --output and at least one shard directory (or --self-test)")
    started = time.perf_counter()
    counter = [0]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = args.output.with_suffix(args.output.suffix + ".tmp")
    with make_pose() as pose, open(partial, "w") as out:
        for shard_dir in args.shards:
            evaluate_shard(pose, shard_dir, out, counter)
    partial.replace(args.output)
    print(
        f"[blazepose] {counter[0]} people in {len(args.shards)} shards, {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
