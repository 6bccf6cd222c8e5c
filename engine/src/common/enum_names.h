// Enum <-> name, both ways from one table: the option parsers (device_from_string, ...) and the
// names in messages (device_name, ...) cannot drift apart, and a new value is one line.
#pragma once

#include <cstddef>
#include <string>

namespace deeplab {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

// The first name listed for `value` (later ones are aliases); "?" for a value not in the table.
template <class E, std::size_t N>
const char* enum_name(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& e : table)
    if (e.value == value) return e.name;
  return "?";
}

// The value named `name`; false (and `value` untouched) when the table has no such name, for the
// caller to throw its own message.
template <class E, std::size_t N>
bool enum_from_name(const EnumName<E> (&table)[N], const std::string& name, E* value) {
  for (const EnumName<E>& e : table) {
    if (name == e.name) {
      *value = e.value;
      return true;
    }
  }
  return false;
}

}  // namespace deeplab
