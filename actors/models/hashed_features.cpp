#include "actors/models/hashed_features.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "actors/tabular/csv_stream.hpp"
#include "runtime/errors.hpp"
#include "runtime/hash.hpp"

namespace troupe::models {

namespace {

using kind = hashed_transform::column_spec::hashing;

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

/// Lower-cased runs of letters and digits.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : text) {
    if (std::isalnum(c)) {
      cur.push_back(static_cast<char>(std::tolower(c)));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string kind_name(kind k) {
  switch (k) {
  case kind::categorical:
    return "categorical";
  case kind::text:
    return "text";
  case kind::numeric:
    break;
  }
  return "numeric";
}

/// Cut points at the 1/b, 2/b, ... quantiles of the present values,
/// distinct and ascending.
std::vector<double> quantile_cuts(std::vector<double> xs, uint32_t buckets) {
  xs.erase(std::remove_if(xs.begin(), xs.end(),
                          [](double x) { return std::isnan(x); }),
           xs.end());
  std::vector<double> cuts;
  if (xs.empty()) return cuts;
  std::sort(xs.begin(), xs.end());
  for (uint32_t i = 1; i < buckets; ++i) {
    auto at = static_cast<size_t>(static_cast<double>(i) * xs.size() / buckets);
    auto c = xs[std::min(at, xs.size() - 1)];
    if (c > xs.front() && (cuts.empty() || c > cuts.back())) cuts.push_back(c);
  }
  return cuts;
}

} // namespace

caf::expected<hashed_transform>
hashed_transform::fit(const tabular::table& t, const std::string& target,
                      const hashing_options& o) {
  if (o.bits < 1 || o.bits > 64)
    return bad("hash bits " + std::to_string(o.bits) + ": must be 1..64");
  if (o.buckets < 2 || o.buckets > 1024)
    return bad("buckets " + std::to_string(o.buckets) + ": must be 2..1024");
  if (!(o.text_tokens > 0)) return bad("text_tokens must be > 0");
  auto* y = t.find(target);
  if (!y)
    return bad("no target column '" + target + "' in " + t.source +
               " (columns: " + t.column_list() + ")");
  hashed_transform out;
  out.bits_ = o.bits;
  out.target_ = target;
  // the two classes, the larger positive
  std::set<std::string> texts;
  std::set<double> numbers;
  for (size_t r = 0; r < t.rows(); ++r) {
    if (y->is_missing(r)) continue;
    if (y->kind == tabular::column_kind::numeric)
      numbers.insert(y->numbers[r]);
    else
      texts.insert(y->text[r]);
  }
  auto distinct =
      y->kind == tabular::column_kind::numeric ? numbers.size() : texts.size();
  if (distinct != 2)
    return bad("target '" + target + "' of " + t.source + " has " +
               std::to_string(distinct) +
               " distinct values: a sparse logistic model needs two");
  if (y->kind == tabular::column_kind::numeric) {
    out.negative_ = std::to_string(*numbers.begin());
    out.positive_ = std::to_string(*numbers.rbegin());
  } else {
    out.negative_ = *texts.begin();
    out.positive_ = *texts.rbegin();
  }
  for (auto& c : t.columns) {
    if (c.name == target) continue;
    column_spec s;
    s.name = c.name;
    if (c.kind == tabular::column_kind::numeric) {
      s.how = kind::numeric;
      s.cuts = quantile_cuts(c.numbers, o.buckets);
    } else {
      size_t tokens = 0, present = 0;
      for (size_t r = 0; r < t.rows(); ++r)
        if (!c.is_missing(r)) {
          tokens += words_of(c.text[r]).size();
          ++present;
        }
      s.how =
          present > 0 && static_cast<double>(tokens) / present >= o.text_tokens
              ? kind::text
              : kind::categorical;
    }
    out.columns_.push_back(std::move(s));
  }
  auto index = [&](const std::string& name) -> caf::expected<size_t> {
    for (size_t i = 0; i < out.columns_.size(); ++i)
      if (out.columns_[i].name == name) {
        if (out.columns_[i].how == kind::text)
          return bad("cross names '" + name +
                     "', a text column: text columns are not crossed");
        return i;
      }
    return bad("cross names '" + name + "', which is not a feature column of " +
               t.source);
  };
  for (auto& [a, b] : o.crosses) {
    auto i = index(a);
    if (!i) return i.error();
    auto j = index(b);
    if (!j) return j.error();
    if (*i == *j) return bad("cross of '" + a + "' with itself");
    out.crosses_.emplace_back(*i, *j);
  }
  return out;
}

uint64_t hashed_transform::key_of(const std::string& piece) const {
  auto h = fnv1a64(piece);
  if (bits_ < 64) h &= (uint64_t{1} << bits_) - 1;
  return h == bias_key ? 1 : h;
}

void hashed_transform::tokens(size_t col, const std::string& cell,
                              std::vector<std::string>& out) const {
  auto& c = columns_[col];
  double x = 0;
  if (cell.empty() ||
      (c.how == kind::numeric && !tabular::parse_number(cell, x))) {
    out.push_back(c.name + "?");
    return;
  }
  switch (c.how) {
  case kind::categorical:
    out.push_back(c.name + "=" + cell);
    return;
  case kind::text: {
    auto ws = words_of(cell);
    if (ws.empty()) out.push_back(c.name + "?");
    for (auto& w : ws)
      out.push_back(c.name + "~" + w);
    return;
  }
  case kind::numeric:
    break;
  }
  auto bucket =
      std::upper_bound(c.cuts.begin(), c.cuts.end(), x) - c.cuts.begin();
  out.push_back(c.name + "#" + std::to_string(bucket));
}

std::vector<uint64_t>
hashed_transform::keys(const std::vector<std::string>& cells) const {
  std::vector<uint64_t> out;
  std::vector<std::vector<std::string>> pieces(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    tokens(c, c < cells.size() ? cells[c] : std::string{}, pieces[c]);
    for (auto& p : pieces[c])
      out.push_back(key_of(p));
  }
  for (auto& [a, b] : crosses_)
    for (auto& pa : pieces[a])
      for (auto& pb : pieces[b])
        out.push_back(key_of(pa + "\x1e" + pb));
  return out;
}

void hashed_transform::column_keys(
    const std::vector<std::string>& cells,
    std::vector<std::vector<uint64_t>>& out) const {
  out.resize(columns_.size());
  std::vector<std::vector<std::string>> pieces(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    out[c].clear();
    tokens(c, c < cells.size() ? cells[c] : std::string{}, pieces[c]);
    for (auto& p : pieces[c])
      out[c].push_back(key_of(p));
  }
  for (auto& [a, b] : crosses_)
    for (auto& pa : pieces[a])
      for (auto& pb : pieces[b])
        out[a].push_back(key_of(pa + "\x1e" + pb));
}

caf::expected<std::vector<sparse_row>>
hashed_transform::transform(const tabular::table& t, bool labeled) const {
  std::vector<const tabular::column*> in;
  for (auto& c : columns_) {
    auto* col = t.find(c.name);
    if (!col)
      return bad("column '" + c.name +
                 "' (used when fitting) is missing from " + t.source);
    in.push_back(col);
  }
  auto* y = labeled ? t.find(target_) : nullptr;
  if (labeled && !y)
    return bad("no target column '" + target_ + "' in " + t.source);
  double positive_number = 0;
  bool numeric_target = y && y->kind == tabular::column_kind::numeric;
  if (numeric_target && !tabular::parse_number(positive_, positive_number))
    return bad("target '" + target_ + "' was categorical when fitting (" +
               positive_ + ") and is numeric in " + t.source);
  std::vector<sparse_row> out;
  out.reserve(t.rows());
  std::vector<std::string> cells(in.size());
  for (size_t r = 0; r < t.rows(); ++r) {
    if (y && y->is_missing(r)) continue;
    for (size_t c = 0; c < in.size(); ++c)
      cells[c] = in[c]->text[r];
    sparse_row row;
    row.keys = keys(cells);
    if (y)
      row.label = numeric_target
                      ? (y->numbers[r] == positive_number ? 1.f : 0.f)
                      : (y->text[r] == positive_ ? 1.f : 0.f);
    out.push_back(std::move(row));
  }
  return out;
}

caf::expected<std::vector<sparse_row>>
hashed_transform::transform_file(const std::string& path) const {
  auto in = tabular::csv_stream::open(path);
  if (!in) return in.error();
  std::vector<int> at;
  for (auto& c : columns_) {
    auto i = in->column(c.name);
    if (i < 0)
      return bad("column '" + c.name +
                 "' (used when fitting) is missing from " + path);
    at.push_back(i);
  }
  auto y = in->column(target_);
  if (y < 0) return bad("no target column '" + target_ + "' in " + path);
  // a numeric target is compared as a number ("1.0" is "1")
  double pos = 0, neg = 0;
  bool numeric = tabular::parse_number(positive_, pos) &&
                 tabular::parse_number(negative_, neg);
  std::vector<sparse_row> out;
  std::vector<std::string> fields, cells(columns_.size());
  size_t line = 0;
  for (;;) {
    auto got = in->next(fields, line);
    if (!got) return got.error();
    if (!*got) break;
    auto& label = fields[static_cast<size_t>(y)];
    tabular::normalize_cell(label);
    if (label.empty()) continue;
    double v = 0;
    bool is_pos = numeric ? tabular::parse_number(label, v) && v == pos
                          : label == positive_;
    bool is_neg = numeric ? tabular::parse_number(label, v) && v == neg
                          : label == negative_;
    if (!is_pos && !is_neg)
      return bad(path + ":" + std::to_string(line) + ": target '" + target_ +
                 "' is '" + label + "', neither class of the fit ('" +
                 negative_ + "', '" + positive_ + "')");
    for (size_t c = 0; c < at.size(); ++c) {
      cells[c] = std::move(fields[static_cast<size_t>(at[c])]);
      tabular::normalize_cell(cells[c]);
    }
    out.push_back({keys(cells), is_pos ? 1.f : 0.f});
  }
  return out;
}

nlohmann::json hashed_transform::to_json() const {
  nlohmann::json cols = nlohmann::json::array();
  for (auto& c : columns_) {
    nlohmann::json j{{"name", c.name}, {"kind", kind_name(c.how)}};
    if (c.how == kind::numeric) j["cuts"] = c.cuts;
    cols.push_back(std::move(j));
  }
  nlohmann::json crosses = nlohmann::json::array();
  for (auto& [a, b] : crosses_)
    crosses.push_back({columns_[a].name, columns_[b].name});
  return {{"format", "troupe.hashed_features"},
          {"version", 1},
          {"bits", bits_},
          {"target", target_},
          {"positive", positive_},
          {"negative", negative_},
          {"columns", std::move(cols)},
          {"crosses", std::move(crosses)}};
}

caf::expected<hashed_transform>
hashed_transform::from_json(const nlohmann::json& j) {
  auto where = std::string{"hashed features JSON"};
  if (!j.is_object() || j.value("format", "") != "troupe.hashed_features")
    return bad(where + ": not a troupe.hashed_features document");
  if (j.value("version", 0) != 1)
    return bad(where + ": version " +
               j.value("version", nlohmann::json{}).dump() + " is not 1");
  hashed_transform out;
  try {
    out.bits_ = j.at("bits").get<uint32_t>();
    if (out.bits_ < 1 || out.bits_ > 64)
      return bad(where + ": bits " + std::to_string(out.bits_) +
                 " is not 1..64");
    out.target_ = j.at("target").get<std::string>();
    out.positive_ = j.at("positive").get<std::string>();
    out.negative_ = j.at("negative").get<std::string>();
    std::map<std::string, size_t> index;
    for (auto& c : j.at("columns")) {
      column_spec s;
      s.name = c.at("name").get<std::string>();
      auto k = c.at("kind").get<std::string>();
      if (k == "numeric") {
        s.how = kind::numeric;
        s.cuts = c.at("cuts").get<std::vector<double>>();
        if (!std::is_sorted(s.cuts.begin(), s.cuts.end()))
          return bad(where + ": column '" + s.name + "': cuts not ascending");
      } else if (k == "text") {
        s.how = kind::text;
      } else if (k == "categorical") {
        s.how = kind::categorical;
      } else {
        return bad(where + ": column '" + s.name + "' has unknown kind '" + k +
                   "'");
      }
      index[s.name] = out.columns_.size();
      out.columns_.push_back(std::move(s));
    }
    for (auto& x : j.at("crosses")) {
      auto a = x.at(0).get<std::string>(), b = x.at(1).get<std::string>();
      if (!index.count(a) || !index.count(b))
        return bad(where + ": cross of unknown columns '" + a + "', '" + b +
                   "'");
      out.crosses_.emplace_back(index[a], index[b]);
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(where + ": " + e.what());
  }
  return out;
}

} // namespace troupe::models
