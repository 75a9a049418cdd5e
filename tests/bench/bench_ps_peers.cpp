// bench-timeout: 3600
// The parameter server (troupe train, family sparse-lr: FTRL-Proximal on
// shard actors, workers pulling and pushing) against LIBLINEAR
// (liblinear-train -s 0: L2-regularised logistic regression, trust-region
// Newton) and scikit-learn's SGDClassifier (loss="log_loss"), on the same
// hashed features: the benchmark fits troupe's transform
// (models::hashed_transform, the job's own options) on the training CSV and
// writes its keys as LIBSVM files for the peers, while the job hashes the
// CSV itself.
//
// Data:
// - debian-packages: Debian's binary-package index (the Packages files of
//   /var/lib/apt/lists), one row per package, labelled "is a library"
//   (section libs, libdevel or oldlibs), its one-line description and
//   dependencies as hashed tokens (peers/debian_packages.py);
// - criteo-like: generated (peers/criteo_like.py): 39 categorical columns
//   with power-law cardinalities (10 to 1M values) and Zipf-like values,
//   labels from a planted logistic model; --rows rows (default 1,000,000;
//   the run is --rows 10000000: the job and this benchmark hash
//   the files as they stream, holding only the rows' keys).
//
// What is measured, each side on its test set:
// - each peer's test logloss and its seconds of fitting: SGDClassifier's
//   partial_fit epochs (reading and shuffling not counted), LIBLINEAR's
//   whole liblinear-train run less the time liblinear-predict takes to read
//   the same training file (its parse, which troupe's count leaves out too);
// - troupe's validation history (valid_every): the seconds from the start of
//   training until its test logloss is within 0.5% of each peer's, at 1 and
//   2 workers, and its examples/s over the whole run.
// Goal (issue 18): faster than the faster peer at equal logloss.
//
// troupe's FTRL: alpha 0.1, beta 1, l1 0, l2 1, batch 128, 10 epochs,
// validated every twentieth of its steps (the seconds it reports include
// those validations); one worker synchronous, two asynchronous, as many
// shards as workers, all in one node of 4 slots.
//
//   bench_ps_peers [--rows N] [--repeats R] [--epochs E (SGD's)]
//                  [--troupe-epochs E] [--batch B] [--alpha A] [--l2 L]

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/models/hashed_features.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/training/sparse_job.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_training.hpp"

using namespace troupe;
using namespace troupe::bench;
namespace fs = std::filesystem;

namespace {

struct dataset {
  std::string name;
  std::string train, test; // CSVs
  std::string target;
  uint32_t bits = 20;
  nlohmann::json info;
  std::string train_svm, test_svm;
  size_t train_rows = 0;
};

/// Writes `rows` as LIBSVM lines: the label, then each key (1..2^bits-1)
/// once, ascending, with its count.
void write_svm(const std::string& path,
               const std::vector<models::sparse_row>& rows) {
  std::ofstream out{path};
  std::string line;
  for (auto& r : rows) {
    auto keys = r.keys;
    std::sort(keys.begin(), keys.end());
    line = r.label > 0.5f ? "1" : "0";
    for (size_t i = 0; i < keys.size();) {
      size_t j = i;
      while (j < keys.size() && keys[j] == keys[i])
        ++j;
      line += ' ' + std::to_string(keys[i]) + ':' + std::to_string(j - i);
      i = j;
    }
    line += '\n';
    out << line;
  }
  if (!out) fail("cannot write " + path);
}

/// Hashes the dataset's CSVs as the job will (fitted on the sample the
/// job draws with its seed, 0; every row hashed as the file streams), into
/// LIBSVM files.
void hash_to_svm(dataset& d, const std::string& root) {
  auto t = tabular::sample_csv(d.train, training::fit_sample_rows, 0);
  if (!t) fail(describe(t.error()));
  models::hashing_options o;
  o.bits = d.bits;
  auto h = models::hashed_transform::fit(*t, d.target, o);
  if (!h) fail(describe(h.error()));
  *t = tabular::table{};
  auto rows = h->transform_file(d.train);
  if (!rows) fail(describe(rows.error()));
  d.train_rows = rows->size();
  d.train_svm = root + "/" + d.name + ".train.svm";
  write_svm(d.train_svm, *rows);
  rows->clear();
  auto test_rows = h->transform_file(d.test);
  if (!test_rows) fail(describe(test_rows.error()));
  d.test_svm = root + "/" + d.name + ".test.svm";
  write_svm(d.test_svm, *test_rows);
}

double wall(const std::string& cmd) {
  auto t0 = clock_type::now();
  auto [rc, out] = run_capture(cmd);
  if (rc != 0) fail("failed: " + cmd);
  return seconds_since(t0);
}

struct peer_run {
  double seconds = 0, logloss = 0, per_second = 0;
};

/// liblinear-train and -predict; the fit's seconds less the parse's.
peer_run liblinear(const dataset& d, const std::string& root) {
  auto model = root + "/" + d.name + ".liblinear";
  auto train = wall("/usr/bin/liblinear-train -s 0 -B 1 -q " + d.train_svm +
                    " " + model + " >/dev/null");
  auto parse = wall("/usr/bin/liblinear-predict " + d.train_svm + " " + model +
                    " /dev/null >/dev/null");
  auto pred = root + "/" + d.name + ".liblinear.pred";
  wall("/usr/bin/liblinear-predict -b 1 " + d.test_svm + " " + model + " " +
       pred + " >/dev/null");
  // "labels 1 0" (or "0 1"), then the label and the two probabilities
  std::ifstream p{pred}, y{d.test_svm};
  std::string head, first, second;
  p >> head >> first >> second;
  int one = first == "1" ? 0 : 1;
  double loss = 0;
  size_t n = 0;
  std::string line;
  double label = 0, pr[2];
  while (p >> label >> pr[0] >> pr[1]) {
    if (!std::getline(y, line))
      fail("liblinear predicted more rows than " + d.test_svm);
    double truth = line[0] == '1' ? 1 : 0;
    double q = std::clamp(pr[one], 1e-15, 1 - 1e-15);
    loss -= truth * std::log(q) + (1 - truth) * std::log(1 - q);
    ++n;
  }
  peer_run out;
  out.seconds = std::max(1e-3, train - parse);
  out.logloss = loss / static_cast<double>(n);
  out.per_second = static_cast<double>(d.train_rows) / out.seconds;
  return out;
}

peer_run sgd(const dataset& d, int epochs) {
  auto cmd = std::string{"/usr/bin/python3 "} + TROUPE_SOURCE_DIR +
             "/tests/bench/peers/sgd_peer.py " + d.train_svm + " " +
             d.test_svm + " --features " +
             std::to_string(uint64_t{1} << d.bits) + " --epochs " +
             std::to_string(epochs);
  auto [rc, out] = run_capture(cmd);
  if (rc != 0) fail("the SGDClassifier peer failed: " + cmd);
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) fail("the SGDClassifier peer printed no JSON: " + out);
  return {j["fit_s"].get<double>(), j["logloss"].get<double>(),
          j["examples_per_s"].get<double>()};
}

struct troupe_run {
  nlohmann::json history;
  double logloss = 0, per_second = 0, train_seconds = 0;
};

/// Seconds into training when the history first reaches `target` (within
/// 0.5%), or -1.
double time_to(const troupe_run& r, double target) {
  for (auto& h : r.history)
    if (h["logloss"].is_number() &&
        h["logloss"].get<double>() <= target * 1.005)
      return h["seconds"].get<double>();
  return r.logloss <= target * 1.005 ? r.train_seconds : -1;
}

} // namespace

int main(int argc, char** argv) {
  auto root = start_bench("bench_ps_peers");
  auto rows = arg_or(argc, argv, "--rows", 1000000);
  int repeats = static_cast<int>(arg_or(argc, argv, "--repeats", 3));
  // SGDClassifier's epochs; troupe's job runs --troupe-epochs and is timed
  // to each peer's logloss along its validation history
  int epochs = static_cast<int>(arg_or(argc, argv, "--epochs", 5));
  int troupe_epochs =
      static_cast<int>(arg_or(argc, argv, "--troupe-epochs", 10));
  auto batch = arg_or(argc, argv, "--batch", 128);
  auto alpha = arg_text(argc, argv, "--alpha", "0.1");
  auto l2 = arg_text(argc, argv, "--l2", "1");

  std::vector<dataset> sets(2);
  sets[0].name = "debian-packages";
  sets[0].target = "library";
  sets[0].bits = 20;
  sets[1].name = "criteo-like";
  sets[1].target = "label";
  sets[1].bits = 22;
  for (auto& d : sets) {
    d.train = root + "/" + d.name + ".train.csv";
    d.test = root + "/" + d.name + ".test.csv";
    auto script =
        std::string{TROUPE_SOURCE_DIR} + "/tests/bench/peers/" +
        (d.name == "criteo-like" ? "criteo_like.py" : "debian_packages.py");
    auto cmd = "/usr/bin/python3 " + script + " " + d.train + " " + d.test +
               (d.name == "criteo-like" ? " --rows " + std::to_string(rows)
                                        : std::string{});
    auto [rc, out] = run_capture(cmd);
    if (rc != 0) fail("cannot make " + d.name + ": " + cmd);
    d.info = nlohmann::json::parse(out, nullptr, false);
    progress("%s: %s", d.name.c_str(), out.c_str());
    hash_to_svm(d, root);
  }

  training_cluster cluster{root, 4};
  cluster.wait_nodes(1);
  int job = 0;
  auto run_troupe = [&](const dataset& d, int workers) {
    auto id = "ps-" + std::to_string(job++);
    auto steps = (d.train_rows / workers / batch + 1) * troupe_epochs;
    auto toml =
        "family = \"sparse-lr\"\n[data]\ntrain = \"" + d.train +
        "\"\nvalid = \"" + d.test + "\"\ntarget = \"" + d.target +
        "\"\n[features]\nbits = " + std::to_string(d.bits) +
        "\n[model]\noptimizer = \"ftrl\"\nalpha = " + alpha +
        "\nbeta = 1\nl1 = 0\nl2 = " + l2 +
        "\n[run]\nworkers = " + std::to_string(workers) +
        "\nshards = " + std::to_string(workers) + "\nconsistency = \"" +
        (workers == 1 ? "sync" : "async") +
        "\"\nbatch = " + std::to_string(batch) +
        "\nepochs = " + std::to_string(troupe_epochs) +
        "\nvalid_every = " + std::to_string(std::max<uint64_t>(1, steps / 20)) +
        "\ncheckpoint_seconds = 0\n";
    auto v = cluster.run(id, toml, 3000);
    auto s = nlohmann::json::parse(v.summary);
    troupe_run r;
    r.history = s["valid_history"];
    r.logloss = s["valid"]["logloss"].get<double>();
    r.per_second = s["examples_per_second"].get<double>();
    r.train_seconds = s["train_seconds"].get<double>();
    return r;
  };

  nlohmann::json out{{"bench", "bench_ps_peers"},
                     {"nproc", nproc()},
                     {"cpu", cpu_model()},
                     {"date", utc_now()},
                     {"sgd_epochs", epochs},
                     {"batch", batch},
                     {"troupe_epochs", troupe_epochs},
                     {"ftrl", {{"alpha", alpha}, {"l2", l2}}},
                     {"repeats", repeats}};
  bool met = true;
  nlohmann::json results = nlohmann::json::object();
  for (auto& d : sets) {
    std::vector<peer_run> ll, sg;
    std::map<int, std::vector<troupe_run>> tr;
    for (int r = 0; r < repeats; ++r) {
      auto peers = [&] {
        ll.push_back(liblinear(d, root));
        sg.push_back(sgd(d, epochs));
      };
      auto ours = [&] {
        for (int w : {1, 2})
          tr[w].push_back(run_troupe(d, w));
      };
      // alternating which side runs first
      if (r % 2 == 0) {
        peers();
        ours();
      } else {
        ours();
        peers();
      }
      progress("%s, repeat %d: LIBLINEAR logloss %.5f in %.2f s, SGD %.5f in "
               "%.2f s; troupe %.5f (1 worker, %.0f ex/s), %.5f (2 workers, "
               "%.0f ex/s)",
               d.name.c_str(), r + 1, ll.back().logloss, ll.back().seconds,
               sg.back().logloss, sg.back().seconds, tr[1].back().logloss,
               tr[1].back().per_second, tr[2].back().logloss,
               tr[2].back().per_second);
    }
    auto med = [](const std::vector<peer_run>& xs, double peer_run::*f) {
      std::vector<double> v;
      for (auto& x : xs)
        v.push_back(x.*f);
      return median(v);
    };
    nlohmann::json set{{"info", d.info},
                       {"train_rows", d.train_rows},
                       {"bits", d.bits},
                       {"liblinear",
                        {{"logloss", med(ll, &peer_run::logloss)},
                         {"fit_s", med(ll, &peer_run::seconds)},
                         {"examples_per_s", med(ll, &peer_run::per_second)}}},
                       {"sgd",
                        {{"logloss", med(sg, &peer_run::logloss)},
                         {"fit_s", med(sg, &peer_run::seconds)},
                         {"examples_per_s", med(sg, &peer_run::per_second)}}}};
    for (int w : {1, 2}) {
      nlohmann::json side{{"workers", w}};
      std::vector<double> loss, rate;
      for (auto& t : tr[w]) {
        loss.push_back(t.logloss);
        rate.push_back(t.per_second);
      }
      side["logloss"] = median(loss);
      side["examples_per_s"] = median(rate);
      bool beats_both = true;
      for (auto [name, peer] : {std::pair{"liblinear", &ll}, {"sgd", &sg}}) {
        // per repeat: the peer's seconds over troupe's to its logloss (0:
        // troupe never got there)
        std::vector<double> ratios, times;
        for (int r = 0; r < repeats; ++r) {
          auto t = time_to(tr[w][r], (*peer)[r].logloss);
          times.push_back(t);
          ratios.push_back(t > 0 ? (*peer)[r].seconds / t : 0.0);
        }
        auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
        side["vs_" + std::string{name}] = {{"seconds_to_its_logloss", times},
                                           {"speedup_median", median(ratios)},
                                           {"speedup_min", *lo},
                                           {"speedup_max", *hi}};
        beats_both = beats_both && median(ratios) > 1.0;
        std::printf("%s, %d worker(s): to %s's logloss %.5f (within 0.5%%): "
                    "troupe %.2f s vs %.2f s, speedup %.2fx (%.2f-%.2f)\n",
                    d.name.c_str(), w, name, med(*peer, &peer_run::logloss),
                    median(times), med(*peer, &peer_run::seconds),
                    median(ratios), *lo, *hi);
      }
      side["goal_met"] = beats_both;
      met = met && beats_both;
      set["troupe_" + std::to_string(w)] = side;
      std::printf("%s, %d worker(s): troupe logloss %.5f, %.0f examples/s "
                  "(LIBLINEAR %.0f, SGD %.0f)\n",
                  d.name.c_str(), w, median(loss), median(rate),
                  med(ll, &peer_run::per_second),
                  med(sg, &peer_run::per_second));
    }
    results[d.name] = set;
  }
  out["datasets"] = results;
  out["goal"] = "faster than the faster peer at equal logloss";
  out["goal_met"] = met;
  cluster.stop();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
