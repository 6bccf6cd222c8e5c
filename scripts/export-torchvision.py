#!/usr/bin/env python3
"""Export torchvision segmentation models (and the two legacy DeepLab nets) to ONNX + a manifest.

Usage (torch/torchvision/numpy must be importable, onnx is optional; on the dev box that is
/usr/bin/python3):

  /usr/bin/python3 scripts/export-torchvision.py ARCH [--random | --checkpoint FILE] [--size WxH]
        [--opset N] [--out-dir DIR] [--reference] [--image IMG] [--seed N]
  /usr/bin/python3 scripts/export-torchvision.py ARCH --manifest-only [--size WxH] [--out-dir DIR]

Writes DIR/ARCH.onnx and DIR/ARCH.yaml (the manifest read by the C++ engine); with --reference also
DIR/ARCH.input.npy (float32 [1,3,H,W], the normalised model input), DIR/ARCH.output.npy (float32
[1,21,H,W], PyTorch fp32 logits) and DIR/ARCH.reference.json.  --manifest-only writes just the
manifest, without sha256 (that is how models/ARCH.yaml is generated: this script is the single
source of truth for class names, palette, normalisation and checkpoint URLs).

--checkpoint FILE loads an official torchvision checkpoint (download it yourself from the URL in the
manifest) after checking its sha256: torchvision publishes only the first 8 hex digits of the sha256,
in the file name (torch.hub's convention), so that prefix is what is checked unless a full digest is
recorded below.

--random gives deterministic (for a given machine and torch build), well-conditioned random weights
from --seed: conv weights Kaiming-normal (fan_in), BatchNorm affine/running statistics random around
the statistics each BatchNorm really sees on fixed calibration inputs (white and 1/f noise), so the
logits are O(1) at any depth.  The head is then "sharpened" (init_random_sharp): a random head's logits
are smooth random fields with a near-tie (top-2 gap < 1e-3 max|logit|) at ~1% of pixels, too many
for an argmax-parity test; sharpened, they are BANDS large regions with steep edges (near-ties
~0.01-0.06% at 321x321) plus a small random field through every other weight.

Errors in arguments or inputs print one message to stderr and exit with status 2.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import time
import zlib
from collections import Counter

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
except ImportError as _e:
    print("export-torchvision.py: error: %s; this script needs torch, torchvision and numpy"
          " (on the dev box run it with /usr/bin/python3)" % _e, file=sys.stderr)
    sys.exit(2)
try:
    import onnx  # optional: only tidies the exported file (output dims, checker)
except ImportError:
    onnx = None

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(SCRIPT_DIR, "lib"))
from cli import CliError, run_main  # noqa: E402
REPO_DIR = os.path.dirname(SCRIPT_DIR)

VOC_CLASSES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
]

# value = (pixel * scale - mean) / std, pixel 0..255, mean/std in the model's channel order.
IMAGENET_NORM = {"color": "RGB", "scale": 1.0 / 255.0,
                 "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
# Legacy nets: the Caffe DeepLab BGR mean; the originals used std 1, here the ImageNet std (x255, BGR
# order) so that random weights see unit-scale inputs.
CAFFE_VGG_NORM = {"color": "BGR", "scale": 1.0,
                  "mean": [104.008, 116.669, 122.675], "std": [57.375, 57.12, 58.395]}

TV_LICENCE_CODE = "BSD-3-Clause (torchvision code)"
TV_LICENCE_WEIGHTS = (
    TV_LICENCE_CODE + "; weights: no licence of their own stated by torchvision, whose README"
    " ('Pre-trained Model License') says they may carry terms derived from the training data"
    " (COCO train2017, VOC label subset)")

# One entry per ARCH.  checkpoint_sha256 stays None where the full digest is not published.
ARCHS = {
    "deeplabv3_resnet50": {
        "builder": "torchvision",
        "description": "DeepLabv3 with a ResNet-50 backbone (output stride 8), PASCAL VOC 21 classes",
        "checkpoint_url": "https://download.pytorch.org/models/deeplabv3_resnet50_coco-cd0a2569.pth",
    },
    "deeplabv3_resnet101": {
        "builder": "torchvision",
        "description": "DeepLabv3 with a ResNet-101 backbone (output stride 8), PASCAL VOC 21 classes",
        "checkpoint_url": "https://download.pytorch.org/models/deeplabv3_resnet101_coco-586e9e4e.pth",
    },
    "deeplabv3_mobilenet_v3_large": {
        "builder": "torchvision",
        "description": "DeepLabv3 with a MobileNetV3-Large backbone (output stride 16), PASCAL VOC 21 classes",
        "checkpoint_url": "https://download.pytorch.org/models/deeplabv3_mobilenet_v3_large-fc3c493d.pth",
    },
    "lraspp_mobilenet_v3_large": {
        "builder": "torchvision",
        "description": "Lite R-ASPP with a MobileNetV3-Large backbone, PASCAL VOC 21 classes",
        "checkpoint_url": "https://download.pytorch.org/models/lraspp_mobilenet_v3_large-d234d4ea.pth",
    },
    "fcn_resnet50": {
        "builder": "torchvision",
        "description": "FCN with a ResNet-50 backbone (output stride 8), PASCAL VOC 21 classes",
        "checkpoint_url": "https://download.pytorch.org/models/fcn_resnet50_coco-1167a1af.pth",
    },
    "deeplabv1_largefov": {
        "builder": "legacy",
        "description": "DeepLab-v1 LargeFOV (VGG-16 atrous, fc6 dilation 12, half channel widths), 21 classes",
    },
    "deeplabv2_aspp": {
        "builder": "legacy",
        "description": "DeepLab-v2 ASPP-L (VGG-16 atrous, 4 summed branches dilation 6/12/18/24, half widths), 21 classes",
    },
}
for _arch in ARCHS.values():
    _arch.setdefault("checkpoint_sha256", None)
    _arch["norm"] = CAFFE_VGG_NORM if _arch["builder"] == "legacy" else IMAGENET_NORM

DEFAULT_SIZE = (520, 520)
DEFAULT_OPSET = 13


# ---------------------------------------------------------------------------------------------
# manifest

def voc_palette(n=21):
    """The standard PASCAL VOC colour map (bit-interleaved class index)."""
    palette = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append([r, g, b])
    return palette


def _q(text):
    """A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML)."""
    if text == "" or re.search(r"[:#\[\]{},&*!|>'\"%@`]", text) or text != text.strip():
        return json.dumps(text)
    return text


def _floats(values):
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def checkpoint_name(arch):
    url = ARCHS[arch].get("checkpoint_url")
    return url.rsplit("/", 1)[1] if url else None


def manifest_text(arch, size, sha256=None, weights="checkpoint", seed=0, opset=DEFAULT_OPSET):
    """weights: 'checkpoint' (trained), 'random' (seeded), or 'none' (manifest-only, file not made)."""
    spec = ARCHS[arch]
    norm = spec["norm"]
    legacy = spec["builder"] == "legacy"
    description = spec["description"]
    if weights == "random":
        description += ", RANDOM weights (seed %d), for tests only" % seed
        licence = ("random weights (seed %d); network: scripts/deeplab_legacy.py, this project" % seed
                   if legacy else TV_LICENCE_CODE + "; random weights (seed %d), no trained weights" % seed)
    else:
        licence = TV_LICENCE_WEIGHTS
    where = ("scripts/deeplab_legacy.py" if legacy
             else "torchvision.models.segmentation.%s" % arch)
    source = "%s exported by scripts/export-torchvision.py (ONNX opset %d)" % (where, opset)
    if weights == "random":
        source += " with --random --seed %d" % seed
    elif weights == "checkpoint":
        source += " from %s" % checkpoint_name(arch)
    else:
        source += "; produce it with: scripts/fetch-models.sh %s (prints the steps)" % arch

    lines = []
    if weights == "none":
        lines += ["# Generated by: scripts/export-torchvision.py %s --manifest-only --out-dir models" % arch,
                  "# (the script is the source of truth for these values; change it, then regenerate)"]
    lines += [
        "name: %s" % arch,
        "description: %s" % _q(description),
        "file: %s.onnx" % arch,
        'url: ""          # not downloadable: made locally by scripts/export-torchvision.py',
    ]
    if sha256:
        lines.append("sha256: %s" % sha256)
    else:
        lines.append("# sha256 omitted: every user exports their own file (see docs/models.md)")
    if weights != "random" and not legacy:
        lines.append("# licence of the weights: no explicit licence; COCO annotations are CC BY 4.0,")
        lines.append("# COCO images follow Flickr terms. Not legal advice: check before commercial use.")
    lines += [
        "licence: %s" % _q(licence),
        "source: %s" % _q(source),
        "input:",
        "  name: input",
        "  width: %d%s" % (size[0], "" if legacy else
                           "          # torchvision's own preset resizes the short side to 520"),
        "  height: %d" % size[1],
        "  layout: NCHW        # NCHW or NHWC; H and W are dynamic in the ONNX graph",
        "  color: %s          # RGB or BGR" % norm["color"],
        "  scale: %r   # value = (pixel*scale - mean)/std, pixel 0..255" % norm["scale"],
        "  mean: %s   # in the model's channel order" % _floats(norm["mean"]),
        "  std: %s" % _floats(norm["std"]),
        "output: out           # float32 logits [1,21,H,W] at the input resolution",
        "classes: [%s]" % ", ".join(VOC_CLASSES),
        "palette: [%s]" % ",".join("[%d,%d,%d]" % tuple(c) for c in voc_palette(len(VOC_CLASSES))),
    ]
    if not legacy and weights != "random":
        lines += [
            "checkpoint:",
            "  url: %s" % spec["checkpoint_url"],
        ]
        if spec["checkpoint_sha256"]:
            lines.append("  sha256: %s" % spec["checkpoint_sha256"])
        else:
            prefix = re.search(r"-([0-9a-f]{8})\.pth$", spec["checkpoint_url"]).group(1)
            lines.append("  # sha256 omitted: torchvision publishes only its first 8 hex digits (%s)," % prefix)
            lines.append("  # in the file name; export-torchvision.py --checkpoint checks that prefix.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# arguments

def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m:
        raise CliError("bad --size %r: expected WxH, e.g. 321x321" % text)
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise CliError("bad --size %r: width and height must be 16..8192" % text)
    return w, h


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="export-torchvision.py",
        description="Export a segmentation network to ONNX with a gst-deeplab manifest.")
    p.add_argument("arch", metavar="ARCH", help="one of: " + ", ".join(ARCHS))
    w = p.add_mutually_exclusive_group()
    w.add_argument("--random", action="store_true", help="deterministic random weights from --seed")
    w.add_argument("--checkpoint", metavar="FILE", help="official torchvision checkpoint (.pth)")
    w.add_argument("--manifest-only", action="store_true", help="write only DIR/ARCH.yaml (no sha256)")
    p.add_argument("--size", default="%dx%d" % DEFAULT_SIZE, help="export/default input size WxH (520x520)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (13)")
    p.add_argument("--out-dir", default=os.path.join(REPO_DIR, "models", "cache"), metavar="DIR")
    p.add_argument("--reference", action="store_true", help="also write input/output .npy and .json")
    p.add_argument("--image", metavar="IMG", help="reference input image (else seeded N(0,1))")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    if args.arch not in ARCHS:
        raise CliError("unknown ARCH %r; choose one of: %s" % (args.arch, ", ".join(ARCHS)))
    args.size = parse_size(args.size)
    if not 11 <= args.opset <= 17:
        raise CliError("bad --opset %d: supported 11..17" % args.opset)
    if args.image and not args.reference:
        raise CliError("--image %s is only used with --reference" % args.image)
    if args.image and not os.path.isfile(args.image):
        raise CliError("image not found: %s" % args.image)
    if args.checkpoint:
        if ARCHS[args.arch]["builder"] != "torchvision":
            raise CliError("no official checkpoint exists for %s; use --random" % args.arch)
        if not os.path.isfile(args.checkpoint):
            raise CliError("checkpoint not found: %s (download %s)"
                           % (args.checkpoint, ARCHS[args.arch]["checkpoint_url"]))
    elif not args.random and not args.manifest_only:
        raise CliError("give --checkpoint FILE (trained weights), --random or --manifest-only")
    return args


# ---------------------------------------------------------------------------------------------
# model

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_model(arch):
    if ARCHS[arch]["builder"] == "legacy":
        sys.path.insert(0, SCRIPT_DIR)
        import deeplab_legacy
        return getattr(deeplab_legacy, arch)(num_classes=len(VOC_CLASSES))
    import torchvision.models.segmentation as seg
    return getattr(seg, arch)(weights=None, weights_backbone=None, aux_loss=False,
                              num_classes=len(VOC_CLASSES))


def load_checkpoint(model, arch, path):
    spec = ARCHS[arch]
    actual = sha256_file(path)
    expected = spec["checkpoint_sha256"]
    if expected is None:  # torch.hub convention: the file name carries the sha256 prefix
        expected = re.search(r"-([0-9a-f]{8})\.pth$", spec["checkpoint_url"]).group(1)
    if not actual.startswith(expected):
        raise CliError("checkpoint %s: sha256 mismatch for %s: expected %s%s, got %s"
                       % (path, checkpoint_name(arch), expected,
                          "..." if len(expected) < 64 else "", actual))
    try:
        state = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise CliError("cannot read checkpoint %s: %s" % (path, e))
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    # Official checkpoints were trained with the auxiliary FCN head; we export without it.
    state = {k: v for k, v in state.items() if not k.startswith("aux_classifier.")}
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CliError("checkpoint %s does not match %s: missing %s, unexpected %s"
                       % (path, arch, result.missing_keys[:5], result.unexpected_keys[:5]))
    return actual


CALIBRATION_SIZE = 256


def calibration_input(seed):
    """Two N(0,1)-scaled 256x256 inputs: white noise, and image-like noise (equal energy per octave,
    like the 1/f^2 spectrum of natural images, with correlated colour channels).

    BatchNorm statistics are taken over both, so that the net stays well-conditioned for the
    white-noise reference input as well as for real images."""
    g = torch.Generator().manual_seed(1_000_003 + seed)
    white = torch.randn(1, 3, CALIBRATION_SIZE, CALIBRATION_SIZE, generator=g)
    pink = torch.zeros(1, 3, CALIBRATION_SIZE, CALIBRATION_SIZE)
    cells = 2
    while cells <= CALIBRATION_SIZE:
        octave = torch.randn(1, 1, cells, cells, generator=g) + 0.5 * torch.randn(1, 3, cells, cells, generator=g)
        pink += F.interpolate(octave, size=(CALIBRATION_SIZE, CALIBRATION_SIZE), mode="bilinear",
                              align_corners=False)
        cells *= 2
    pink = (pink - pink.mean()) / pink.std()
    return torch.cat([white, pink])


@torch.no_grad()
def init_random(model, seed, capture=()):
    """Deterministic, well-conditioned random weights (see module docstring).

    Returns {module: its input on the calibration batch, after calibration} for the modules in
    capture (one forward pass serves both)."""
    g = torch.Generator().manual_seed(seed)

    def uniform(t, lo, hi):
        t.copy_(lo + (hi - lo) * torch.rand(t.shape, generator=g))

    def normal(t, std):
        t.copy_(std * torch.randn(t.shape, generator=g))

    bns = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            normal(m.weight, (2.0 / fan_in) ** 0.5)
            if m.bias is not None:
                normal(m.bias, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            uniform(m.weight, 0.5, 1.5)
            normal(m.bias, 0.1)
            normal(m.running_mean, 0.1)
            uniform(m.running_var, 0.5, 1.5)
            bns.append(m)

    # Re-centre every BatchNorm on the statistics it really sees (in forward order, so each one
    # sees already-calibrated inputs), keeping the random offsets drawn above.
    def pre_hook(bn, inputs):
        x = inputs[0]
        if x.shape[0] * x.shape[2] * x.shape[3] >= 16:
            mean = x.mean(dim=(0, 2, 3))
            var = x.var(dim=(0, 2, 3), unbiased=False)
        else:  # e.g. after global pooling: one value per channel, use a layer-wide scale
            mean = torch.zeros(x.shape[1])
            var = x.pow(2).mean().expand(x.shape[1]).clone()
        var = var.clamp_min(1e-2 * float(var.mean()) + 1e-12)
        bn.running_mean.copy_(mean + bn.running_mean * var.sqrt())
        bn.running_var.copy_(var * bn.running_var)

    seen = {}

    def keep(module, inputs):
        seen[module] = inputs[0]

    handles = [bn.register_forward_pre_hook(pre_hook) for bn in bns]
    handles += [m.register_forward_pre_hook(keep) for m in capture]
    model.eval()
    model(calibration_input(seed))
    for h in handles:
        h.remove()
    return seen


# Head sharpening (see init_random_sharp): the logit maps of a random head are smooth random fields, whose
# argmax has a near-tie (top-2 gap < 1e-3 max|logit|) at about 1% of pixels, whatever the scaling.
BANDS = 4           # classes shown, as bands (level sets) of one scalar feature map
SHARPNESS = 10.0    # slope of each band edge, per standard deviation of that feature
AMPLITUDE = 4.0     # logit margin of the band's class
MINOR = 0.03        # std of all other contributions to the logits, relative to AMPLITUDE


def head_of(arch, model):
    """(pre-activation conv, its BatchNorm or None, logits conv, sigmoid gate conv or None, minor logit convs)."""
    c = getattr(model, "classifier", None)
    if arch.startswith("deeplabv3_"):        # DeepLabHead: ASPP, conv3x3, BN, ReLU, conv1x1
        return c[1], c[2], c[4], None, []
    if arch.startswith("fcn_"):              # FCNHead: conv3x3, BN, ReLU, Dropout, conv1x1
        return c[0], c[1], c[4], None, []
    if arch.startswith("lraspp_"):           # cbr(high) * sigmoid gate -> high_classifier, + low_classifier
        return c.cbr[0], c.cbr[1], c.high_classifier, c.scale[1], [c.low_classifier]
    if arch == "deeplabv1_largefov":         # fc6, ReLU, Dropout, fc7, ReLU, Dropout, fc8
        return c[3], None, c[6], None, []
    if arch == "deeplabv2_aspp":             # the rate-12 branch carries the bands, the others are minor
        main = model.branches[1]
        return main[3], None, main[6], None, [b[6] for i, b in enumerate(model.branches) if i != 1]
    raise ValueError(arch)


def top_pc(x, iterations=300):
    """Top right-singular vector of x [N, C] by power iteration (an eigh of C x C is slow for C=2048)."""
    v = torch.ones(x.shape[1]) / x.shape[1] ** 0.5
    for _ in range(iterations):
        v = x.T @ (x @ v)
        v = v / v.norm().clamp_min(1e-30)
    return v


def band_feature(conv, feats, pooled):
    """The scalar map f = conv(feats, w) whose BANDS level sets become the classes.

    w is a principal direction of conv's input channels, box-filtered over the kernel window (a
    random channel is far too rough in space, so its bands would be speckle).  By default it is the
    top PC of the variation within each calibration image, orthogonal to the difference of the
    images' mean features: the PC of all features together tends to be what differs between
    images (e.g. an ASPP image-pooling branch), and then any one input shows only one or two bands.
    pooled=True takes that PC anyway, for heads whose within-image variation is spatially rough.
    Returns (w, mean, std, edges): f is standardised with mean/std; edges are the band boundaries.
    """
    channels = feats.shape[1]
    means = feats.mean(dim=(2, 3))
    if pooled:
        x = feats.permute(0, 2, 3, 1).reshape(-1, channels)
        pc = top_pc(x - x.mean(dim=0))
    else:
        d = means[0] - means[-1]
        d = d / d.norm().clamp_min(1e-12)
        x = (feats - means[:, :, None, None]).permute(0, 2, 3, 1).reshape(-1, channels)
        x = x - (x @ d)[:, None] * d[None, :]
        pc = top_pc(x)
        pc = pc - (pc @ d) * d
    kh, kw = conv.kernel_size
    w = (pc / (kh * kw))[:, None, None].expand(channels, kh, kw).contiguous()
    f = F.conv2d(feats, w[None], None, conv.stride, conv.padding, conv.dilation)
    mean, std = float(f.mean()), float(f.std())
    edges = torch.quantile(((f - mean) / std).flatten(), torch.linspace(0, 1, BANDS + 1)[1:-1])
    return w, mean, std, edges


@torch.no_grad()
def init_random_sharp(model, arch, seed):
    """init_random, then make the random logits piecewise constant with steep, large-margin edges.

    The last pre-activation layer gets BANDS-1 channel pairs computing relu(u_j) and relu(u_j - 1),
    u_j = SHARPNESS * (f - t_j), with f a smooth feature map (see band_feature) standardised on the
    calibration input and t_j its quantiles.  The logits conv turns each pair into the clipped step
    clip(u_j, 0, 1), and gives each class of a random BANDS-subset AMPLITUDE times the indicator of
    one band of f.  All other channels and the minor logit convs are scaled to add a random field
    of std MINOR * AMPLITUDE, so that every weight of the network still moves the logits.  Near-ties
    are then confined to the band edges, where the top-2 gap crosses zero steeply.
    """
    conv, bn, final, gate, minors = head_of(arch, model)
    seen = init_random(model, seed, capture=[conv, final] + minors)

    g = torch.Generator().manual_seed(seed + zlib.crc32(arch.encode()))
    # LRASPP's head sees the raw stride-16 MobileNet features, whose within-image variation is
    # spatially white for random weights; the pooled PC is smooth there.
    w, mean, std, edges = band_feature(conv, seen[conv], pooled=arch.startswith("lraspp_"))
    n_pairs = BANDS - 1
    for j in range(n_pairs):
        for k, offset in ((2 * j, 0.0), (2 * j + 1, 1.0)):
            if bn is not None:
                conv.weight[k] = w
                bn.running_mean[k] = mean
                bn.running_var[k] = std * std - bn.eps
                bn.weight[k] = SHARPNESS
                bn.bias[k] = -SHARPNESS * float(edges[j]) - offset
            else:
                conv.weight[k] = w * (SHARPNESS / std)
                conv.bias[k] = -SHARPNESS * (mean / std + float(edges[j])) - offset
    gain = 1.0
    if gate is not None:  # sigmoid(0) = 0.5 for the pair channels
        gate.weight[:2 * n_pairs] = 0.0
        gain = 2.0

    minor = MINOR * AMPLITUDE
    weight = final.weight
    if final.in_channels > 2 * n_pairs:
        rest = F.conv2d(seen[final][:, 2 * n_pairs:], weight[:, 2 * n_pairs:])
        weight[:, 2 * n_pairs:] *= minor / float(rest.std())
    weight[:, :2 * n_pairs] = 0.0
    final.bias.copy_(minor * torch.randn(final.bias.shape, generator=g))
    step = AMPLITUDE * gain
    classes = torch.randperm(final.out_channels, generator=g)[:BANDS].tolist()
    for band, cls in enumerate(classes):
        # indicator of band b = step(b-1) - step(b), step(j) = clip(u_j, 0, 1), step(-1) = 1
        if band == 0:
            final.bias[cls] += AMPLITUDE
        else:
            weight[cls, 2 * band - 2] += step
            weight[cls, 2 * band - 1] -= step
        if band < n_pairs:
            weight[cls, 2 * band] -= step
            weight[cls, 2 * band + 1] += step
    for m in minors:
        scale = minor / float(m(seen[m]).std())
        m.weight *= scale
        m.bias *= scale


class OutOnly(nn.Module):
    """forward(x) -> logits; unwraps torchvision's {'out': ...} dict."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        y = self.model(x)
        return y["out"] if isinstance(y, dict) else y


# ---------------------------------------------------------------------------------------------
# reference data

def make_input(arch, size, image, seed):
    w, h = size
    if image is None:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(1, 3, h, w, generator=g)
    from PIL import Image
    try:
        img = Image.open(image).convert("RGB").resize((w, h), Image.BILINEAR)
    except Exception as e:  # noqa: BLE001 - PIL raises several types for bad files
        raise CliError("cannot read image %s: %s" % (image, e))
    norm = ARCHS[arch]["norm"]
    x = torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1)  # RGB, 0..255
    if norm["color"] == "BGR":
        x = x.flip(0)
    mean = torch.tensor(norm["mean"]).view(3, 1, 1)
    std = torch.tensor(norm["std"]).view(3, 1, 1)
    return ((x * norm["scale"] - mean) / std).unsqueeze(0).contiguous()


def logit_stats(logits):
    top2 = logits.topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    max_abs = float(logits.abs().max())
    classes = Counter(logits.argmax(dim=1).flatten().tolist())
    return {
        "max_abs_logit": max_abs,
        "logit_std": float(logits.std()),
        "near_tie_fraction": float((gap < 1e-3 * max_abs).float().mean()),
        "min_top2_gap": float(gap.min()),
        "finite": bool(torch.isfinite(logits).all()),
        "argmax_classes": dict(sorted(classes.items())),
    }


# ---------------------------------------------------------------------------------------------

def export(args):
    arch, (w, h) = args.arch, args.size
    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, arch + ".onnx")
    t0 = time.time()

    model = build_model(arch)
    if args.checkpoint:
        ckpt_sha = load_checkpoint(model, arch, args.checkpoint)
        print("checkpoint %s sha256 %s" % (args.checkpoint, ckpt_sha))
    else:
        init_random_sharp(model, arch, args.seed)
    model = OutOnly(model).eval()

    x = make_input(arch, (w, h), args.image, args.seed)
    with torch.no_grad():
        logits = model(x)
    stats = logit_stats(logits)
    print("logits %s: std %.3f, max|logit| %.3f, near-tie fraction %.6f (%.4f%%), min top-2 gap %.3g,"
          " argmax classes %s" % (list(logits.shape), stats["logit_std"], stats["max_abs_logit"],
                                  stats["near_tie_fraction"], 100 * stats["near_tie_fraction"],
                                  stats["min_top2_gap"], stats["argmax_classes"]))
    if not stats["finite"]:
        raise RuntimeError("%s produced non-finite logits" % arch)

    import inspect
    import warnings
    kwargs = {}
    # PyTorch >= 2.9 defaults to the dynamo exporter (another graph, newer opset, needs onnxscript):
    # the TorchScript exporter is the one this project's importer is tested against.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, x, onnx_path, opset_version=args.opset, do_constant_folding=True,
                          input_names=["input"], output_names=["out"],
                          dynamic_axes={"input": {2: "height", 3: "width"},
                                        "out": {2: "height", 3: "width"}}, **kwargs)
    if onnx is not None:
        proto = onnx.load(onnx_path)
        # The exporter leaves the output's N and C symbolic (they come out of a Resize with computed
        # sizes); they are fixed, so say so: out is [1, 21, height, width].
        dims = proto.graph.output[0].type.tensor_type.shape.dim
        for dim, value in zip(dims[:2], (1, len(VOC_CLASSES))):
            dim.Clear()
            dim.dim_value = value
        onnx.checker.check_model(proto)
        onnx.save(proto, onnx_path)
        ops = Counter(node.op_type for node in proto.graph.node)
        print("ops:", dict(sorted(ops.items())))
    else:
        # The engine infers every shape from the graph input, so the symbolic N and C are harmless.
        print("note: the onnx package is not importable: the file is the exporter's own (output N, C"
              " symbolic, not checked)")

    digest = sha256_file(onnx_path)
    weights = "checkpoint" if args.checkpoint else "random"
    with open(os.path.join(args.out_dir, arch + ".yaml"), "w") as f:
        f.write(manifest_text(arch, (w, h), digest, weights, args.seed, args.opset))

    if args.reference:
        # The reference is computed in float64: an fp32 reference carries its own rounding error,
        # of the same size as the engine's in deep nets (ResNet-101), and would blur the comparison.
        import copy
        with torch.no_grad():
            exact = copy.deepcopy(model).double()(x.double())
        fp32_error = float((logits.double() - exact).abs().max()) / float(exact.abs().max())
        print("PyTorch fp32 vs fp64: max |err| = %.3g x max |logit|" % fp32_error)
        base = os.path.join(args.out_dir, arch)
        np.save(base + ".input.npy", x.numpy().astype(np.float32))
        np.save(base + ".output.npy", exact.numpy().astype(np.float32))
        ref = {"arch": arch, "size": [w, h], "max_abs_logit": stats["max_abs_logit"],
               "near_tie_fraction": stats["near_tie_fraction"], "torch_version": torch.__version__,
               "torchvision_version": torchvision.__version__, "weights": weights,
               "seed": args.seed, "input": args.image or "randn(seed)", "opset": args.opset,
               "reference_precision": "float64", "torch_fp32_relative_error": fp32_error}
        with open(base + ".reference.json", "w") as f:
            json.dump(ref, f, indent=2)
            f.write("\n")
    print("wrote %s (sha256 %s, %.1f MB) in %.1f s"
          % (onnx_path, digest, os.path.getsize(onnx_path) / 1e6, time.time() - t0))


def main(argv):
    args = parse_args(argv)
    if args.manifest_only:
        os.makedirs(args.out_dir, exist_ok=True)
        path = os.path.join(args.out_dir, args.arch + ".yaml")
        with open(path, "w") as f:
            f.write(manifest_text(args.arch, args.size, None, "none", opset=args.opset))
        print("wrote", path)
        return 0
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    export(args)
    return 0


if __name__ == "__main__":
    sys.exit(run_main("export-torchvision.py", main, sys.argv[1:]))
