#include "runtime/errors.hpp"

#include <map>
#include <mutex>

#include <caf/message.hpp>

namespace troupe {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::type_mismatch:
    return "type_mismatch";
  case errc::malformed_message:
    return "malformed_message";
  case errc::not_found:
    return "not_found";
  case errc::already_exists:
    return "already_exists";
  case errc::unauthorized:
    return "unauthorized";
  case errc::no_capacity:
    return "no_capacity";
  case errc::timeout:
    return "timeout";
  case errc::io_failure:
    return "io_failure";
  case errc::shutting_down:
    return "shutting_down";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(message))};
}

namespace {

struct category_table {
  std::mutex mtx;
  std::map<caf::atom_value, std::string (*)(uint8_t)> names;
};

category_table& categories() {
  static category_table table;
  return table;
}

std::string (*code_namer(caf::atom_value category))(uint8_t) {
  auto& t = categories();
  std::lock_guard<std::mutex> guard{t.mtx};
  auto i = t.names.find(category);
  return i == t.names.end() ? nullptr : i->second;
}

} // namespace

void register_error_category(caf::atom_value category,
                             std::string (*code_name)(uint8_t)) {
  auto& t = categories();
  std::lock_guard<std::mutex> guard{t.mtx};
  t.names[category] = code_name;
}

std::string describe(const caf::error& err) {
  if (!err) return "no error";
  std::string text;
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    text = ctx.get_as<std::string>(0);
  if (err.category() == error_category) {
    // The message names what and where; the code is only a fallback, so
    // errors that wrap other errors' messages don't pile up codes.
    return text.empty() ? to_string(static_cast<errc>(err.code())) : text;
  }
  if (auto name = code_namer(err.category())) {
    if (!text.empty()) return text;
    return caf::to_string(err.category()) + ": " + name(err.code());
  }
  return caf::to_string(err);
}

} // namespace troupe
