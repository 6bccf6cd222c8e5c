// A tiny built-in 5x7 bitmap font for deeplaboverlay's legend (no pango, no font files): letters
// (drawn upper-case), digits, space and - _ . ( ) : / %; anything else draws as '?'.
#pragma once

#include <cstdint>

namespace deeplab_gst {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;

// Five column bytes, bit 0 = top row.
const std::uint8_t* glyph(char c);

}  // namespace deeplab_gst
