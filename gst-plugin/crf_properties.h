// The numeric crf* properties of deeplabseg, one table entry each: name, nick, blurb, type, range,
// and where the value lives in deeplab::CrfOptions. The defaults are read from a default-constructed
// CrfOptions (the engine's), so gst-inspect can never disagree with the engine. Adding a CRF
// property is one entry here (docs/elements.md: "add an element property").
#pragma once

#include <glib-object.h>

#include <cstddef>

#include "deeplab/crf.h"

namespace deeplab_gst {

struct CrfProperty {
  enum Type { kUint, kInt64, kDouble };
  const char* name;
  const char* nick;
  const char* blurb;
  Type type;
  double min, max;
  double (*get)(const deeplab::CrfOptions&);
  void (*set)(deeplab::CrfOptions&, double);
};

// The table, in the order the properties are installed (and listed by gst-inspect).
const CrfProperty* crf_properties(std::size_t* count);

// Installs every entry with ids first_id, first_id + 1, ...
void install_crf_properties(GObjectClass* klass, guint first_id, GParamFlags flags);

// For an id in [first_id, first_id + count): the value into/out of `crf`; false for another id.
bool set_crf_property(deeplab::CrfOptions& crf, guint first_id, guint prop_id, const GValue* value);
bool get_crf_property(const deeplab::CrfOptions& crf, guint first_id, guint prop_id, GValue* value);

}  // namespace deeplab_gst
