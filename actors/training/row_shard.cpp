// Row shards of data-parallel workers (row_shard.hpp).

#include "actors/training/row_shard.hpp"

#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

/// The most bytes a Data field holds.
constexpr size_t most_bytes = (size_t{1} << 29) - 1;

} // namespace

caf::error write_row_shard(const std::string& path, uint32_t cols,
                           const float* values, const float* labels,
                           size_t rows) {
  auto value_bytes = rows * cols * sizeof(float);
  if (value_bytes > most_bytes)
    return make_error(errc::invalid_argument,
                      "a worker's share of the rows (" + std::to_string(rows) +
                          " x " + std::to_string(cols) +
                          ") passes 512 MiB: use more workers");
  capnp::MallocMessageBuilder message;
  auto b = message.initRoot<schema::RowShard>();
  b.setCols(cols);
  b.setValues(
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(values), value_bytes));
  b.setLabels(kj::arrayPtr(reinterpret_cast<const kj::byte*>(labels),
                           rows * sizeof(float)));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", path);
  try {
    capnp::writeMessageToFd(fd, message);
  } catch (const kj::Exception& e) {
    ::close(fd);
    return make_error(errc::io_failure, "cannot write '" + path +
                                            "': " + e.getDescription().cStr());
  }
  ::close(fd);
  return caf::none;
}

caf::expected<row_block> read_row_shard(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  if (bytes->size() % sizeof(capnp::word) != 0)
    return make_error(errc::invalid_argument,
                      "'" + path + "' is no row shard (truncated)");
  std::vector<capnp::word> words(bytes->size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes->data(), bytes->size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() + 1;
    capnp::FlatArrayMessageReader reader{
        kj::arrayPtr(words.data(), words.size()), options};
    auto r = reader.getRoot<schema::RowShard>();
    row_block out;
    out.cols = r.getCols();
    auto values = r.getValues();
    auto labels = r.getLabels();
    auto rows = labels.size() / sizeof(float);
    if (out.cols == 0 || labels.size() % sizeof(float) != 0 ||
        values.size() != rows * out.cols * sizeof(float))
      return make_error(errc::invalid_argument,
                        "'" + path + "': " + std::to_string(values.size()) +
                            " value bytes, " + std::to_string(labels.size()) +
                            " label bytes and " + std::to_string(out.cols) +
                            " columns do not make a matrix");
    out.values.resize(rows * out.cols);
    out.labels.resize(rows);
    std::memcpy(out.values.data(), values.begin(), values.size());
    std::memcpy(out.labels.data(), labels.begin(), labels.size());
    return out;
  } catch (const kj::Exception& e) {
    return make_error(errc::invalid_argument,
                      "'" + path +
                          "' is no row shard: " + e.getDescription().cStr());
  }
}

} // namespace troupe::training
