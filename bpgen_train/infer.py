"""Run a trained model on images: ``python -m bpgen_train.infer --weights W --input DIR --output DIR``.

Writes one overlay PNG per image (boxes, masks, skeletons) under OUTPUT/overlays/ and the detections as a COCO
results file OUTPUT/results.json (bbox, score, category_id, RLE segmentation, keypoints; image_id = the image's
index in sorted order, file names in OUTPUT/images.json). The model config is the one saved next to the weights
(config.yaml written by train_net), so inference uses exactly what was trained.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def load_predictor(weights: Path, config_file: Path | None, device: str | None, score_threshold: float) -> Any:
    from detectron2.config import get_cfg
    from detectron2.engine import DefaultPredictor

    config_file = config_file or weights.parent / "config.yaml"
    if not config_file.is_file():
        raise FileNotFoundError(f"no model config {config_file}; pass --config (train_net writes OUTPUT/config.yaml)")
    cfg = get_cfg()
    cfg.set_new_allowed(True)
    cfg.merge_from_file(str(config_file))
    cfg.MODEL.WEIGHTS = str(weights)
    cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = score_threshold
    if device:
        cfg.MODEL.DEVICE = device
    cfg.freeze()
    return DefaultPredictor(cfg), cfg


def person_metadata() -> Any:
    from detectron2.data import MetadataCatalog

    from bpgen.geometry.keypoints import COCO_FLIP_MAP, COCO_KEYPOINTS, COCO_SKELETON
    from bpgen_train.data import keypoint_metadata

    metadata = MetadataCatalog.get("bpgen_inference")
    if not hasattr(metadata, "thing_classes"):
        metadata.set(thing_classes=["person"], **keypoint_metadata(COCO_KEYPOINTS, COCO_FLIP_MAP, COCO_SKELETON))
    return metadata


def coco_results(instances: Any, image_id: int) -> list[dict[str, Any]]:
    """Detections of one image in COCO's results format."""
    import numpy as np

    from bpgen.geometry.labels import encode_rle

    boxes = instances.pred_boxes.tensor.numpy() if instances.has("pred_boxes") else np.zeros((0, 4))
    scores = instances.scores.numpy().tolist()
    results = []
    for i, score in enumerate(scores):
        x0, y0, x1, y1 = (float(v) for v in boxes[i])
        result: dict[str, Any] = {
            "image_id": image_id,
            "category_id": 1,
            "bbox": [x0, y0, x1 - x0, y1 - y0],
            "score": score,
        }
        if instances.has("pred_masks"):
            result["segmentation"] = encode_rle(instances.pred_masks[i].numpy())
        if instances.has("pred_keypoints"):
            keypoints = instances.pred_keypoints[i].numpy()
            result["keypoints"] = [float(v) for x, y, s in keypoints for v in (x, y, 2 if s > 0.05 else 1)]
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpgen_train.infer", description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True, help="a checkpoint, e.g. RUN/train/NAME/model_final.pth")
    parser.add_argument("--input", type=Path, required=True, help="a directory of .jpg/.png images")
    parser.add_argument("--output", type=Path, required=True, help="where overlays/ and results.json go")
    parser.add_argument("--config", type=Path, help="model config (default: config.yaml next to the weights)")
    parser.add_argument("--device", help="cpu or cuda (default: the training config's)")
    parser.add_argument("--score-threshold", type=float, default=0.05)
    args = parser.parse_args(argv)
    images = (
        sorted(p for p in args.input.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if args.input.is_dir() else []
    )
    if not images:
        print(f"error: no .jpg/.png images in {args.input}; pass a directory of images", file=sys.stderr)
        return 2
    if not args.weights.is_file():
        print(f"error: weights {args.weights} not found; pass a checkpoint written by train_net", file=sys.stderr)
        return 2
    try:
        predictor, _ = load_predictor(args.weights, args.config, args.device, args.score_threshold)
    except (FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import cv2
    from detectron2.utils.visualizer import Visualizer

    from bpgen.atomic import atomic_write_image, atomic_write_json

    metadata = person_metadata()
    (args.output / "overlays").mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for image_id, path in enumerate(images, start=1):
        bgr = cv2.imread(str(path))
        instances = predictor(bgr)["instances"].to("cpu")
        results.extend(coco_results(instances, image_id))
        overlay = Visualizer(bgr[:, :, ::-1], metadata).draw_instance_predictions(instances).get_image()
        atomic_write_image(args.output / "overlays" / f"{path.stem}.png", overlay[:, :, ::-1])
    atomic_write_json(args.output / "results.json", results)
    atomic_write_json(args.output / "images.json", [{"id": i, "file_name": p.name} for i, p in enumerate(images, 1)])
    print(f"{len(images)} images, {len(results)} detections -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
