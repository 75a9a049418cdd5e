#pragma once

// Feature rows as plain values for the feature store's tests: scalar values
// and filling a FeatureRow builder from them.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "schemas/features.capnp.h"

namespace troupe::features::test_rows {

/// One scalar value of a row.
struct val {
  enum kind { missing, i64, f64, text, ts } k = missing;
  int64_t i = 0;
  double d = 0;
  std::string s;

  friend bool operator==(const val& a, const val& b) {
    return a.k == b.k && a.i == b.i && a.d == b.d && a.s == b.s;
  }
};

inline std::ostream& operator<<(std::ostream& os, const val& v) {
  switch (v.k) {
  case val::missing:
    return os << "missing";
  case val::i64:
    return os << "int64 " << v.i;
  case val::f64:
    return os << "float64 " << v.d;
  case val::text:
    return os << "text '" << v.s << "'";
  case val::ts:
    return os << "timestamp " << v.i;
  }
  return os;
}

inline val missing() {
  return {};
}
inline val i64(int64_t x) {
  return {val::i64, x, 0, {}};
}
inline val f64(double x) {
  return {val::f64, 0, x, {}};
}
inline val text(std::string x) {
  return {val::text, 0, 0, std::move(x)};
}
inline val ts(int64_t x) {
  return {val::ts, x, 0, {}};
}

/// Sets a row's vector and field values.
inline void fill_values(schema::FeatureRow::Builder b,
                        const std::vector<float>& vec,
                        const std::vector<val>& fields) {
  auto v = b.initVector(static_cast<unsigned>(vec.size()));
  for (unsigned i = 0; i < vec.size(); ++i)
    v.set(i, vec[i]);
  auto fs = b.initFields(static_cast<unsigned>(fields.size()));
  for (unsigned i = 0; i < fields.size(); ++i) {
    auto& f = fields[i];
    switch (f.k) {
    case val::missing:
      fs[i].setMissing();
      break;
    case val::i64:
      fs[i].setInt64(f.i);
      break;
    case val::f64:
      fs[i].setFloat64(f.d);
      break;
    case val::text:
      fs[i].setText(f.s);
      break;
    case val::ts:
      fs[i].setTimestamp(f.i);
      break;
    }
  }
}

} // namespace troupe::features::test_rows
