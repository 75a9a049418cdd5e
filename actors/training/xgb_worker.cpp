#include "actors/training/xgb_worker.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "actors/training/xgb_parallel.hpp"
#include "runtime/errors.hpp"
#include "runtime/kind_args.hpp"
#include "runtime/node.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

struct xgb_worker_state {
  static inline const char* name = "troupe.xgb_worker";
  kind_args args;
  bool running = false;
  caf::typed_response_promise<envelope> done;
  /// Tells the training thread to stop after its round.
  std::shared_ptr<std::atomic<bool>> cancel =
      std::make_shared<std::atomic<bool>>(false);
};

using xgb_worker_self =
    caf::stateful_actor<xgb_worker_state,
                        typed_worker_of<xgb_worker_actor>::type>*;

/// An XgbPart read out of its envelope.
struct part_job {
  xgb_part part;
  tabular::matrix rows;
  uint32_t attempt = 0;
  bool reports = false;
  double checkpoint_seconds = 0;
};

caf::expected<part_job> read_part(const envelope& env,
                                  const std::string& head_host) {
  // a part holds a block of the rows: read it whatever its size
  reader_limits whole{max_envelope_bytes / 8 + 1024, 64};
  auto r = env.visit<schema::XgbPart>(
      [&](auto p) -> caf::expected<part_job> {
        part_job j;
        j.attempt = p.getAttempt();
        j.reports = p.getReports();
        j.checkpoint_seconds = p.getCheckpointSeconds();
        auto& x = j.part;
        x.task = p.getTask().cStr();
        x.tracker_host = p.getTrackerHost().cStr();
        if (x.tracker_host.empty()) x.tracker_host = head_host;
        x.tracker_port = p.getTrackerPort();
        x.world = static_cast<int>(p.getWorld());
        for (auto kv : p.getParams())
          x.params.emplace_back(kv.getName().cStr(), kv.getValue().cStr());
        for (auto t : p.getTypes())
          x.types.emplace_back(t.cStr());
        x.rounds = p.getRounds();
        auto model = p.getStartModel();
        x.start.model.assign(model.begin(), model.end());
        x.start.config = p.getStartConfig().cStr();
        auto& m = j.rows;
        m.cols = p.getCols();
        auto values = p.getValues();
        auto labels = p.getLabels();
        if (m.cols == 0 || values.size() % m.cols != 0 ||
            labels.size() * m.cols != values.size())
          return make_error(
              errc::invalid_argument,
              "XgbPart for " + x.task + ": " + std::to_string(values.size()) +
                  " values, " + std::to_string(labels.size()) + " labels and " +
                  std::to_string(m.cols) + " columns do not make a matrix");
        m.rows = labels.size();
        m.values.reserve(values.size());
        for (auto v : values)
          m.values.push_back(v);
        m.labels.reserve(labels.size());
        for (auto v : labels)
          m.labels.push_back(v);
        return j;
      },
      whole);
  if (!r) return r.error();
  return std::move(*r);
}

/// XGBoost's words for a collective that lost a peer.
bool peer_lost(const std::string& message) {
  for (auto* w : {"Allreduce failed", "Broadcast failed", "Allgather failed",
                  "rabit", "tracker", "Socket", "socket"})
    if (message.find(w) != std::string::npos) return true;
  return false;
}

void run(std::shared_ptr<part_job> job, caf::actor self, caf::actor coordinator,
         std::shared_ptr<std::atomic<bool>> cancel) {
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  auto offer = [&](uint32_t round, const xgb::booster& b) {
    auto cp = b.save_checkpoint();
    if (!cp) return;
    caf::anon_send(
        coordinator, job_checkpoint_atom::value,
        make_envelope<schema::JobCheckpoint>([&](auto c) {
          c.setStep(round);
          c.setAttempt(job->attempt);
          c.setAtMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
          c.setModel(kj::arrayPtr(cp->model.data(), cp->model.size()));
          c.setModelConfig(cp->config);
        }));
  };
  job->part.after_round = [&](uint32_t round, const xgb::booster& b) {
    if (cancel->load()) return false;
    if (job->reports) {
      caf::anon_send(coordinator, job_progress_atom::value, job->attempt,
                     uint64_t{round}, std::nan(""));
      if (job->checkpoint_seconds > 0 && round < job->part.rounds &&
          clock::now() - last >=
              std::chrono::duration<double>(job->checkpoint_seconds)) {
        offer(round, b);
        last = clock::now();
      }
    }
    return true;
  };
  auto out = train_part(job->part, job->rows);
  if (!out) {
    auto err = out.error();
    auto text = describe(err);
    if (err.category() != caf::atom("troupe") && peer_lost(text))
      err = make_error(errc::io_failure,
                       "worker " + job->part.task +
                           ": a peer of the collective went away: " + text);
    caf::anon_send(self, xgb_train_atom::value, envelope{}, err);
    return;
  }
  caf::anon_send(self, xgb_train_atom::value,
                 make_envelope<schema::JobCheckpoint>([&](auto c) {
                   c.setStep(job->part.rounds);
                   c.setAttempt(job->attempt);
                   c.setModel(
                       kj::arrayPtr(out->model.data(), out->model.size()));
                   c.setModelConfig(out->config);
                 }),
                 caf::error{});
}

xgb_worker_actor::behavior_type xgb_worker(xgb_worker_self self,
                                           kind_args args) {
  self->identify(args);
  self->state.args = args;
  auto cancel = self->state.cancel;
  self->attach_functor([cancel] { cancel->store(true); });
  return {
      [=](xgb_train_atom, const envelope& env,
          const caf::actor& coordinator) -> caf::result<envelope> {
        auto& st = self->state;
        if (st.running)
          return make_error(errc::invalid_argument,
                            "worker " + st.args.name + " is training already");
        auto job = read_part(env, st.args.head_host);
        if (!job) return job.error();
        st.running = true;
        st.done = self->make_response_promise<envelope>();
        auto shared = std::make_shared<part_job>(std::move(*job));
        auto me = caf::actor_cast<caf::actor>(self);
        // XGBoost's communicator is thread-local: one thread from join to
        // leave, off the actor's scheduler
        std::thread{run, shared, me, coordinator, st.cancel}.detach();
        return st.done;
      },
      [=](xgb_train_atom, const envelope& model, const caf::error& err) {
        auto& st = self->state;
        if (!st.running) return;
        st.running = false;
        if (err)
          st.done.deliver(err);
        else
          st.done.deliver(model);
      },
      self->stats_handler(),
  };
}

} // namespace

void register_xgb_kinds(caf::actor_system_config& cfg) {
  cfg.add_actor_type(xgb_worker_kind, xgb_worker);
  mark_service_kind(xgb_worker_kind);
}

} // namespace troupe::training
