#include "actors/tabular/idx.hpp"

#include <zlib.h>

#include <filesystem>

#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

/// The whole (decompressed) content of a file.
caf::expected<std::string> slurp(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return bad(path + ": no such file");
  auto* f = gzopen(path.c_str(), "rb"); // reads plain files as they are
  if (f == nullptr) return bad(path + ": cannot open");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto n = gzread(f, buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      return bad(path + ": cannot decompress (" + msg + ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  gzclose(f);
  return out;
}

uint32_t be32(const std::string& s, size_t at) {
  auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

} // namespace

image_set take(const image_set& s, const std::vector<size_t>& which) {
  image_set out;
  out.rows = which.size();
  out.height = s.height;
  out.width = s.width;
  out.pixels.reserve(which.size() * s.features());
  out.labels.reserve(which.size());
  for (auto r : which) {
    out.pixels.insert(out.pixels.end(), s.row(r), s.row(r) + s.features());
    out.labels.push_back(s.labels[r]);
  }
  return out;
}

const std::vector<std::string>& fashion_classes() {
  static const std::vector<std::string> names{
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

caf::expected<image_set> read_idx(const std::string& images_path,
                                  const std::string& labels_path) {
  auto img = slurp(images_path);
  if (!img) return img.error();
  auto lab = slurp(labels_path);
  if (!lab) return lab.error();
  if (img->size() < 16 || be32(*img, 0) != 0x803)
    return bad(images_path + ": not an IDX image file (magic 0x00000803)");
  if (lab->size() < 8 || be32(*lab, 0) != 0x801)
    return bad(labels_path + ": not an IDX label file (magic 0x00000801)");
  image_set s;
  s.rows = be32(*img, 4);
  s.height = be32(*img, 8);
  s.width = be32(*img, 12);
  if (img->size() != 16 + s.rows * s.height * s.width)
    return bad(images_path + ": holds " + std::to_string(img->size() - 16) +
               " pixel bytes, its header promises " + std::to_string(s.rows) +
               " images of " + std::to_string(s.height) + "x" +
               std::to_string(s.width));
  auto n_labels = be32(*lab, 4);
  if (lab->size() != 8 + size_t{n_labels})
    return bad(labels_path + ": holds " + std::to_string(lab->size() - 8) +
               " label bytes, its header promises " + std::to_string(n_labels));
  if (n_labels != s.rows)
    return bad(labels_path + ": " + std::to_string(n_labels) +
               " labels for the " + std::to_string(s.rows) + " images of " +
               images_path);
  s.pixels.resize(s.rows * s.features());
  for (size_t i = 0; i < s.pixels.size(); ++i)
    s.pixels[i] =
        static_cast<float>(static_cast<unsigned char>((*img)[16 + i]));
  s.labels.resize(s.rows);
  for (size_t i = 0; i < s.rows; ++i) {
    auto v = static_cast<unsigned char>((*lab)[8 + i]);
    if (v > 9)
      return bad(labels_path + ": label " + std::to_string(i) + " is " +
                 std::to_string(v) + ", not a class 0..9");
    s.labels[i] = v;
  }
  return s;
}

std::vector<std::string> fashion_mnist_files(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> out;
  for (auto name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    auto plain = dir + "/" + name;
    auto gz = plain + ".gz";
    out.push_back(std::filesystem::exists(gz, ec) ? gz : plain);
  }
  return out;
}

caf::error read_fashion_mnist(const std::string& dir, image_set& train,
                              image_set& test) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return bad("data directory '" + dir + "' does not exist");
  auto files = fashion_mnist_files(dir);
  auto tr = read_idx(files[0], files[1]);
  if (!tr) return tr.error();
  auto te = read_idx(files[2], files[3]);
  if (!te) return te.error();
  if (tr->height != te->height || tr->width != te->width)
    return bad(dir + ": training images are " + std::to_string(tr->height) +
               "x" + std::to_string(tr->width) + ", test images " +
               std::to_string(te->height) + "x" + std::to_string(te->width));
  train = std::move(*tr);
  test = std::move(*te);
  return caf::none;
}

} // namespace troupe::tabular
