#!/usr/bin/env python3
"""Makes the bad and oversized inputs of tests/tools/bad_input_tools.cmake in OUT_DIR:

  dog-cut.jpg     the first 40 % of a real still (a download cut short)
  dog-cut.png     the same still as PNG, cut at 60 %
  uhd.png         3840x2160: a 4K frame (the still, scaled)
  huge.png        10000x10000: beyond any CRF buffer this machine's tests allow
"""
import os
import sys

from PIL import Image

still, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
data = open(still, "rb").read()
open(os.path.join(out, "dog-cut.jpg"), "wb").write(data[: len(data) * 4 // 10])
image = Image.open(still).convert("RGB")
png = os.path.join(out, "dog.png")
image.save(png)
png_data = open(png, "rb").read()
open(os.path.join(out, "dog-cut.png"), "wb").write(png_data[: len(png_data) * 6 // 10])
image.resize((3840, 2160), Image.BILINEAR).save(os.path.join(out, "uhd.png"), compress_level=1)
image.resize((10000, 10000), Image.NEAREST).save(os.path.join(out, "huge.png"), compress_level=1)
print("PASS: made the bad inputs in " + out)
