"""Export a trained model to TorchScript: ``python -m bpgen_train.export --weights W --output DIR [--sample IMAGE]``.

Traces the model (Detectron2's TracingAdapter) on a sample image and writes DIR/model.ts plus DIR/export.json
(input format, the flattened output names). Load it with ``import torchvision; torch.jit.load(...)`` anywhere
torch and torchvision run (no Detectron2 needed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpgen_train.export", description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--config", type=Path, help="model config (default: config.yaml next to the weights)")
    parser.add_argument("--sample", type=Path, help="an image to trace with (default: a blank 640x480 image)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if not args.weights.is_file():
        print(f"error: weights {args.weights} not found; pass a checkpoint written by train_net", file=sys.stderr)
        return 2
    import cv2
    import numpy as np
    import torch
    from detectron2.export import TracingAdapter

    from bpgen_train.infer import load_predictor

    try:
        predictor, cfg = load_predictor(args.weights, args.config, args.device, 0.05)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    image = cv2.imread(str(args.sample)) if args.sample else np.zeros((480, 640, 3), np.uint8)
    if image is None:
        print(f"error: cannot read {args.sample}", file=sys.stderr)
        return 2
    tensor = torch.as_tensor(image.astype("float32").transpose(2, 0, 1))
    model = predictor.model.eval()
    adapter = TracingAdapter(
        model,
        [{"image": tensor}],
        inference_func=lambda m, inputs: m.inference(inputs, do_postprocess=False)[0].get_fields(),
    )
    with torch.no_grad():
        traced = torch.jit.trace(adapter, adapter.flattened_inputs, check_trace=False)
    args.output.mkdir(parents=True, exist_ok=True)
    traced.save(str(args.output / "model.ts"))
    info = {
        "input": "one CHW float32 BGR image tensor (0-255)",
        "outputs": str(adapter.outputs_schema),
        "config": cfg.dump(),
    }
    (args.output / "export.json").write_text(json.dumps(info, indent=1))
    print(args.output / "model.ts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
