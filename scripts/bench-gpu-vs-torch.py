#!/usr/bin/env python3
"""PyTorch on the GPU, the way users would run DeepLab instead of gst-deeplab: the numbers
deeplab-bench --device cuda is compared with (scripts/gpu-bench.sh runs both side by side).

Usage (on the GPU machine, with its own python; torch and torchvision must be importable):

  python3 scripts/bench-gpu-vs-torch.py [--models deeplabv3_resnet50,deeplabv3_mobilenet_v3_large]
        [--size 520x520] [--frames 520x520,1920x1080] [--modes eager,compile] [--iters 50]
        [--warmup 10] [--compile-mode max-autotune-no-cudagraphs]
  python3 scripts/bench-gpu-vs-torch.py --export-onnx DIR [--models ...]   # random-weight ONNX for
        deeplab-bench, with torch.onnx.export only (no onnx package needed)
  /usr/bin/python3 scripts/bench-gpu-vs-torch.py --smoke   # the dev box (no GPU): tiny sizes, CPU,
        fp32, one iteration, to check the code path

One JSON object per line on stdout, one per (model, frame, mode):
  {"runtime": "torch", "mode": "eager-fp16-channels-last" | "compile-fp16-channels-last", "model",
   "size": [w, h] (network input), "frame": [w, h], "network_ms_median", "network_ms_min",
   "total_ms_median", "total_ms_min", "iters", "warmup", "torch", "torchvision", "device", ...}

What is timed, with torch.cuda.synchronize() around each iteration (wall clock, median):
  network: model.backbone + model.classifier on a pre-processed fp16 channels-last tensor of the
           network size -> low-resolution logits (torchvision's own final upsample excluded, as
           deeplab-bench's "network" excludes it);
  total:   a uint8 HxWx3 frame in pinned host memory -> upload -> resize to the network size +
           normalise -> network -> bilinear upsample of the logits to the frame size -> argmax ->
           uint8 class map copied back to the host: the same work as deeplab-bench's total.
Weights are random (no network access on the GPU machine; speed does not depend on them).
"""

import argparse
import inspect
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from cli import CliError, run_main  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
    import torchvision
    from torchvision.models import segmentation
except ImportError as _e:
    print("bench-gpu-vs-torch.py: error: %s; this script needs torch and torchvision" % _e, file=sys.stderr)
    sys.exit(2)

MODELS = ("deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def parse_size(text):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CliError("size %r is not WxH" % text)
    if w < 1 or h < 1:
        raise CliError("size %r must be positive" % text)
    return w, h


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--size", default="520x520", help="network input WxH (deeplab-bench --size)")
    p.add_argument("--frames", default="520x520,1920x1080", help="frame sizes WxH, comma-separated")
    p.add_argument("--modes", default="eager,compile", help="eager and/or compile")
    p.add_argument("--compile-mode", default="max-autotune-no-cudagraphs",
                   help="torch.compile mode (default, reduce-overhead, max-autotune, ...)")
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--export-onnx", metavar="DIR", help="write DIR/MODEL.onnx (random weights) and exit")
    p.add_argument("--smoke", action="store_true", help="CPU, fp32, tiny sizes, one iteration (no GPU needed)")
    a = p.parse_args(argv)
    a.models = [m for m in a.models.split(",") if m]
    for m in a.models:
        if m not in MODELS:
            raise CliError("unknown model %r (one of %s)" % (m, ", ".join(MODELS)))
    a.size = parse_size(a.size)
    a.frames = [parse_size(f) for f in a.frames.split(",") if f]
    a.modes = [m for m in a.modes.split(",") if m]
    for m in a.modes:
        if m not in ("eager", "compile"):
            raise CliError("unknown mode %r (eager, compile)" % m)
    if a.iters < 1 or a.warmup < 0:
        raise CliError("--iters must be >= 1 and --warmup >= 0")
    return a


def build(name):
    kwargs = {"weights": None, "weights_backbone": None, "num_classes": 21}
    if name == "deeplabv3_resnet50":
        return segmentation.deeplabv3_resnet50(aux_loss=False, **kwargs)
    return segmentation.deeplabv3_mobilenet_v3_large(aux_loss=False, **kwargs)


class Network(torch.nn.Module):
    """Backbone + classifier: low-resolution logits (the part deeplab-bench calls the network)."""

    def __init__(self, model):
        super().__init__()
        self.backbone = model.backbone
        self.classifier = model.classifier

    def forward(self, x):
        return self.classifier(self.backbone(x)["out"])


class Pipeline(torch.nn.Module):
    """uint8 HxWx3 frame on the device -> uint8 class map at the frame's size."""

    def __init__(self, network, size, dtype):
        super().__init__()
        self.network = network
        self.size = size  # (w, h)
        self.dtype = dtype
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(STD).view(1, 3, 1, 1) * 255.0))

    def forward(self, frame):
        h, w = frame.shape[0], frame.shape[1]
        x = frame.permute(2, 0, 1).unsqueeze(0).float()
        x = F.interpolate(x, size=(self.size[1], self.size[0]), mode="bilinear", align_corners=False)
        x = ((x - self.mean) * self.inv_std).to(self.dtype).contiguous(memory_format=torch.channels_last)
        logits = self.network(x)
        logits = F.interpolate(logits.float(), size=(h, w), mode="bilinear", align_corners=False)
        return logits.argmax(1)[0].to(torch.uint8)


def timed(fn, iters, warmup, sync):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), min(times)


def export_onnx(args):
    os.makedirs(args.export_onnx, exist_ok=True)
    for name in args.models:
        model = build(name).eval()
        w, h = args.size

        class OutOnly(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return self.m(x)["out"]

        path = os.path.join(args.export_onnx, name + ".onnx")
        kwargs = {}
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False  # the TorchScript exporter: needs no onnx/onnxscript package
        with torch.no_grad():
            torch.onnx.export(OutOnly(model), torch.randn(1, 3, h, w), path, opset_version=13,
                              input_names=["input"], output_names=["out"],
                              dynamic_axes={"input": {2: "height", 3: "width"}, "out": {2: "height", 3: "width"}},
                              **kwargs)
        print("wrote %s (%.1f MB)" % (path, os.path.getsize(path) / 1e6), file=sys.stderr)


def run(args):
    cuda = torch.cuda.is_available() and not args.smoke
    if not cuda and not args.smoke:
        raise CliError("no CUDA GPU visible to torch (use --smoke to check the script without one)")
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.float16 if cuda else torch.float32
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.backends.cudnn.benchmark = True
    gpu = torch.cuda.get_device_name(0) if cuda else "cpu (smoke test)"
    precision = "fp16" if cuda else "fp32"
    if "compile" in args.modes and not hasattr(torch, "compile"):
        raise CliError("torch %s has no torch.compile (2.0 or newer needed); use --modes eager" % torch.__version__)
    for name in args.models:
        network = Network(build(name)).eval().to(device=device, dtype=dtype)
        network = network.to(memory_format=torch.channels_last)
        for mode in args.modes:
            if mode == "compile":
                net = torch.compile(network, mode=args.compile_mode)
                label = "compile-%s-channels-last" % precision
            else:
                net = network
                label = "eager-%s-channels-last" % precision
            w, h = args.size
            x = torch.randn(1, 3, h, w, device=device).to(dtype).contiguous(memory_format=torch.channels_last)
            for fw, fh in args.frames:
                pipeline = Pipeline(net, args.size, dtype).to(device)
                frame_host = torch.randint(0, 256, (fh, fw, 3), dtype=torch.uint8)
                if cuda:
                    frame_host = frame_host.pin_memory()

                def total():
                    frame = frame_host.to(device, non_blocking=True)
                    return pipeline(frame).to("cpu", non_blocking=False)

                with torch.inference_mode():
                    t_compile = time.perf_counter()
                    net(x)  # compiles (mode compile) before anything is timed
                    sync()
                    first_ms = (time.perf_counter() - t_compile) * 1000.0
                    net_med, net_min = timed(lambda: net(x), args.iters, args.warmup, sync)
                    tot_med, tot_min = timed(total, args.iters, args.warmup, sync)
                row = {"runtime": "torch", "mode": label, "model": name, "size": [w, h], "frame": [fw, fh],
                       "network_ms_median": round(net_med, 4), "network_ms_min": round(net_min, 4),
                       "total_ms_median": round(tot_med, 4), "total_ms_min": round(tot_min, 4),
                       "first_call_ms": round(first_ms, 1), "iters": args.iters, "warmup": args.warmup,
                       "torch": torch.__version__, "torchvision": torchvision.__version__,
                       "cudnn": torch.backends.cudnn.version() if cuda else None, "device": gpu}
                if mode == "compile":
                    row["compile_mode"] = args.compile_mode
                print(json.dumps(row), flush=True)


def main(argv):
    args = parse_args(argv)
    if args.smoke:
        args.size, args.frames, args.iters, args.warmup = (64, 48), [(80, 60)], 1, 0
    if args.export_onnx:
        export_onnx(args)
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(run_main("bench-gpu-vs-torch.py", main, sys.argv[1:]))
