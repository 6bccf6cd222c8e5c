"""PyTorch definitions of the two classic (Caffe-era) DeepLab networks.

These are test networks for gst-deeplab: structurally faithful re-implementations of

* DeepLab-v1 "LargeFOV" (Chen et al., ICLR 2015, `DeepLab-LargeFOV` prototxt), and
* DeepLab-v2 "ASPP-L" with the VGG-16 backbone (Chen et al., TPAMI 2017, `DeepLab-v2-VGG16-ASPP-L`),

built so that their ONNX export exercises what the modern torchvision models do not: stride-1 max
pools with padding, dilated 3x3 convolutions with large rates (up to 24) on a small feature map, a
deep plain (no BatchNorm, no residual) ReLU stack, and several branch logits summed with `Add`.

What is kept from the originals
  - VGG-16 conv layout: 2-2-3-3-3 convolutions, 3x3, pad 1, ReLU after each.
  - pool1..pool3: MaxPool kernel 3, stride 2, pad 1 (output stride 8 after pool3).
  - pool4, pool5: MaxPool kernel 3, stride 1, pad 1 (the "hole" trick: resolution kept).
  - conv5_x: dilation 2 (pad 2).
  - v1: fc6 = 3x3 conv dilation 12 (pad 12), ReLU, Dropout, fc7 1x1, ReLU, Dropout, fc8 1x1 -> classes.
  - v2: four parallel branches fc6 (3x3, dilation 6/12/18/24) -> ReLU -> Dropout -> fc7 1x1 -> ReLU ->
    Dropout -> fc8 1x1 -> classes; the four branch logits are SUMMED.
  - Final bilinear upsampling (F.interpolate, align_corners=False) of the stride-8 logits to the input
    size (the Caffe models used an Interp layer / evaluated at stride 8; here the network returns
    full-resolution logits, NCHW, like torchvision's models).

What differs (on purpose)
  - Channel widths are multiplied by ``width`` (default 0.5: VGG 32-64-128-256-256, fc6/fc7 512
    instead of 64-128-256-512-512 and 1024) to keep CPU time reasonable in tests. ``width=1.0`` gives
    the original widths. No official PyTorch weights exist for either network; they are used with
    random weights only.
  - Pools use PyTorch's floor rounding (Caffe used ceil); for input sizes 8k+1 (321, 513) the
    feature map sizes are identical (41x41, 65x65).
  - Dropout is present but is the identity in eval mode, so the ONNX export contains none.

Preprocessing convention of the originals (used in their manifests): BGR, pixel 0..255, per-channel
mean subtraction [104.008, 116.669, 122.675] (B, G, R), no std scaling.
"""

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["DeepLabV1LargeFOV", "DeepLabV2ASPP", "deeplabv1_largefov", "deeplabv2_aspp"]

# (channels, number of 3x3 convs, pool stride, conv dilation) per VGG-16 block.
_VGG16_BLOCKS = [(64, 2, 2, 1), (128, 2, 2, 1), (256, 3, 2, 1), (512, 3, 1, 1), (512, 3, 1, 2)]


def _scaled(channels: int, width: float) -> int:
    return max(8, int(round(channels * width)))


class VGG16Atrous(nn.Sequential):
    """VGG-16 conv1_1..pool5 with DeepLab's stride-1 pool4/pool5 and dilated conv5 (output stride 8)."""

    def __init__(self, width: float = 0.5) -> None:
        layers: List[nn.Module] = []
        in_ch = 3
        for channels, n_convs, pool_stride, dilation in _VGG16_BLOCKS:
            out_ch = _scaled(channels, width)
            for _ in range(n_convs):
                layers.append(nn.Conv2d(in_ch, out_ch, 3, padding=dilation, dilation=dilation))
                layers.append(nn.ReLU(inplace=True))
                in_ch = out_ch
            layers.append(nn.MaxPool2d(kernel_size=3, stride=pool_stride, padding=1))
        super().__init__(*layers)
        self.out_channels = in_ch


class _FcBranch(nn.Sequential):
    """fc6 (3x3 atrous) -> ReLU -> Dropout -> fc7 (1x1) -> ReLU -> Dropout -> fc8 (1x1, logits)."""

    def __init__(self, in_ch: int, fc_ch: int, num_classes: int, dilation: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, fc_ch, 3, padding=dilation, dilation=dilation),  # fc6
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Conv2d(fc_ch, fc_ch, 1),  # fc7
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Conv2d(fc_ch, num_classes, 1),  # fc8
        )


class DeepLabV1LargeFOV(nn.Module):
    """DeepLab-v1 LargeFOV: VGG-16 (atrous) + fc6 dilation 12 + fc7 + fc8, bilinear upsample to input."""

    def __init__(self, num_classes: int = 21, width: float = 0.5) -> None:
        super().__init__()
        self.backbone = VGG16Atrous(width)
        self.classifier = _FcBranch(self.backbone.out_channels, _scaled(1024, width), num_classes, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        logits = self.classifier(self.backbone(x))
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


class DeepLabV2ASPP(nn.Module):
    """DeepLab-v2 ASPP-L: VGG-16 (atrous) + 4 atrous branches (6, 12, 18, 24) whose logits are summed."""

    def __init__(self, num_classes: int = 21, width: float = 0.5,
                 rates: Sequence[int] = (6, 12, 18, 24)) -> None:
        super().__init__()
        self.backbone = VGG16Atrous(width)
        fc_ch = _scaled(1024, width)
        self.branches = nn.ModuleList(
            _FcBranch(self.backbone.out_channels, fc_ch, num_classes, r) for r in rates)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        features = self.backbone(x)
        logits = self.branches[0](features)
        for branch in self.branches[1:]:
            logits = logits + branch(features)
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def deeplabv1_largefov(num_classes: int = 21, width: float = 0.5) -> DeepLabV1LargeFOV:
    return DeepLabV1LargeFOV(num_classes=num_classes, width=width)


def deeplabv2_aspp(num_classes: int = 21, width: float = 0.5) -> DeepLabV2ASPP:
    return DeepLabV2ASPP(num_classes=num_classes, width=width)
