// A sparse-lr job's plan (job_run.hpp): parameter-server shards on the
// gang's first `shards` slots and workers on the others, held to the job's
// consistency by a step gate; checkpoints are consistent cuts of the
// shards' optimizer state.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/training/job_run.hpp"
#include "actors/training/ps_shard.hpp"
#include "actors/training/ps_worker.hpp"
#include "actors/training/sparse_job.hpp"
#include "runtime/errors.hpp"

namespace troupe::training {

namespace {

/// How long a validation due while a shard is placed again waits.
constexpr auto valid_retry = std::chrono::milliseconds{50};

class sparse_plan : public job_plan {
public:
  explicit sparse_plan(job_config cfg) : cfg_(std::move(cfg)) {}

  caf::error prepare() override {
    auto data = prepare_sparse_data(cfg_);
    if (!data) return data.error();
    data_ = std::make_shared<sparse_data>(std::move(*data));
    train_rows_ = data_->train.size();
    valid_rows_ = data_->valid.size();
    // a worker's rows go in envelopes of about 64 MiB, one after another
    rows_chunk_ = rows_per_envelope(data_->train, size_t{64} << 20);
    for (uint32_t w = 0; w < cfg_.workers; ++w) {
      auto n = rows_dealt(train_rows_, w, cfg_.workers);
      steps_per_worker_ = std::max<uint64_t>(
          steps_per_worker_, steps_of(n, cfg_.batch, cfg_.epochs));
    }
    if (cfg_.validations > 0)
      cfg_.valid_every = std::max<uint64_t>(
          1, (steps_per_worker_ + cfg_.validations - 1) / cfg_.validations);
    return caf::none;
  }

  uint32_t gang_size() const override { return cfg_.workers + cfg_.shards; }

  std::string data_line() const override {
    return std::to_string(train_rows_) + " training and " +
           std::to_string(valid_rows_) + " validation rows";
  }

  /// The rows go (helpers validating hold their own reference); the
  /// weights were written to model.json.
  void release() override {
    data_.reset();
    outcome_.keys = {};
    outcome_.weights = {};
  }

  std::vector<member> members(const std::vector<std::string>& nodes,
                              const std::string& prefix) const override {
    std::vector<member> out;
    for (uint32_t s = 0; s < cfg_.shards; ++s)
      out.push_back({prefix + "shard-" + std::to_string(s),
                     nodes[s],
                     shard_kind,
                     ps_shard_config_json({s, cfg_.shards, cfg_.model}),
                     {}});
    for (uint32_t w = 0; w < cfg_.workers; ++w)
      out.push_back({prefix + "worker-" + std::to_string(w),
                     nodes[cfg_.shards + w],
                     worker_kind,
                     {},
                     {}});
    return out;
  }

  void start(job_self self) override {
    auto& st = self->state;
    if (st.ckpt.empty()) return start_workers(self);
    // restore every shard from the checkpoint, then train from its step
    auto attempt = st.attempt;
    auto left = std::make_shared<size_t>(cfg_.shards);
    for (size_t i = 0; i < cfg_.shards; ++i) {
      auto state = shard_state(st, i);
      if (!state) return fail(self, state.error());
      self->request(shard(self, i), job_request_timeout, ps_restore_atom::value,
                    *state)
          .then(
              [=] {
                if (self->state.attempt != attempt) return;
                if (--*left == 0) start_workers(self);
              },
              [=](caf::error& err) {
                if (self->state.attempt == attempt) gang_error(self, err);
              });
    }
  }

  /// A shard that went while the workers train is placed again alone; the
  /// workers wait for it at their next call to it.
  bool replaceable(job_self, size_t index) const override {
    return index < cfg_.shards && gate_ && !finishing_;
  }

  member replacement(size_t index, const std::string& node,
                     const std::string& name) const override {
    return {name,
            node,
            shard_kind,
            ps_shard_config_json(
                {static_cast<uint32_t>(index), cfg_.shards, cfg_.model}),
            {}};
  }

  /// Restores the new shard from the last checkpoint (empty without one)
  /// and points every worker at it.
  void on_replaced(job_self self, size_t index) override {
    auto& st = self->state;
    auto attempt = st.attempt;
    auto state = shard_state(st, index);
    if (!state) return fail(self, state.error());
    self->request(shard(self, index), job_request_timeout,
                  ps_restore_atom::value, *state)
        .then(
            [=] {
              auto& st = self->state;
              if (st.attempt != attempt || ended(st)) return;
              for (uint32_t w = 0; w < cfg_.workers; ++w)
                self->send(caf::actor_cast<ps_worker_actor>(
                               st.gang[cfg_.shards + w].handle),
                           ps_reshard_atom::value, static_cast<uint32_t>(index),
                           st.gang[index].handle);
            },
            [=](caf::error& err) {
              if (self->state.attempt == attempt) gang_error(self, err);
            });
  }

  /// Holds the workers at one step, snapshots the shards into the journal,
  /// and lets the workers go on (not while a shard is being placed again).
  void on_checkpoint_timer(job_self self) override {
    auto& st = self->state;
    if (st.replacing) return arm_checkpoint_timer(self);
    if (!gate_ || checkpointing_) return;
    checkpointing_ = true;
    auto attempt = st.attempt;
    auto again = [=] {
      checkpointing_ = false;
      if (gate_) self->send(gate_, ps_go_atom::value);
      if (!ended(self->state) && self->state.attempt == attempt)
        arm_checkpoint_timer(self);
    };
    self->request(gate_, caf::infinite, ps_hold_atom::value)
        .then(
            [=](uint64_t step) {
              auto& st = self->state;
              if (st.attempt != attempt || ended(st)) return;
              auto shards =
                  std::make_shared<std::vector<envelope>>(cfg_.shards);
              auto left = std::make_shared<size_t>(cfg_.shards);
              for (size_t i = 0; i < cfg_.shards; ++i)
                self->request(shard(self, i), job_request_timeout,
                              ps_snapshot_atom::value)
                    .then(
                        [=](const envelope& e) {
                          auto& st = self->state;
                          if (st.attempt != attempt || ended(st)) return;
                          (*shards)[i] = e;
                          if (--*left > 0) return;
                          if (auto err = keep_checkpoint(
                                  self, cut(step, st.attempt, *shards), step))
                            st.log->error("job {}: checkpoint at step {} "
                                          "not stored: {}",
                                          st.init.id, step, describe(err));
                          again();
                        },
                        [=](caf::error& err) {
                          // a shard that went: its down message decides
                          // what the job does; no checkpoint this time
                          again();
                          if (self->state.attempt == attempt && !went_away(err))
                            gang_error(self, err);
                        });
              if (cfg_.shards == 0) again();
            },
            [=](caf::error& err) {
              checkpointing_ = false;
              self->state.log->warn("job {}: no checkpoint: {}",
                                    self->state.init.id, describe(err));
            });
  }

  /// Validates the weights as they are (the shards dumped one by one while
  /// the workers go on) once the slowest worker reaches the next multiple
  /// of valid_every, which the gate tells, on a thread of its own; then
  /// waits for the next.
  void on_valid_timer(job_self self) override {
    auto& st = self->state;
    if (!gate_ || finishing_ || validating_) return;
    auto attempt = st.attempt;
    self->request(gate_, caf::infinite, ps_clock_atom::value, next_valid_)
        .then(
            [=](uint64_t slowest) {
              auto& st = self->state;
              if (st.attempt != attempt || ended(st) || finishing_ ||
                  validating_ || slowest < next_valid_)
                return;
              // a shard being placed again: after it is back
              if (st.replacing)
                return (void)self->delayed_send(self, valid_retry,
                                                job_valid_atom::value);
              next_valid_ = (slowest / cfg_.valid_every + 1) * cfg_.valid_every;
              validating_ = true;
              auto seconds = std::chrono::duration<double>(steady::now() -
                                                           st.training_since)
                                 .count();
              dump_then(self, [=](sparse_outcome weights) {
                // the job may have ended (and dropped its rows) meanwhile
                if (ended(self->state) || !data_) return;
                auto data = data_;
                auto me = caf::actor_cast<job_actor>(self);
                self->system().spawn<caf::detached>([=] {
                  auto metrics = validate_sparse(*data, weights);
                  caf::anon_send(me, job_valid_atom::value, attempt, slowest,
                                 seconds, metrics.dump());
                });
              });
            },
            [](caf::error&) {});
  }

  void on_validated(job_self self, uint32_t, uint64_t step, double seconds,
                    const std::string& json) override {
    auto& st = self->state;
    validating_ = false;
    on_valid_timer(self); // the next
    auto m = record_validation(st, step, json);
    if (m.is_discarded()) return;
    outcome_.history.push_back({{"step", step},
                                {"seconds", seconds},
                                {"logloss", m["logloss"]},
                                {"auc", m["auc"]},
                                {"ks", m["ks"]}});
    st.log->info("job {}: step {}: validation logloss {:.5f}, AUC {:.4f}, KS "
                 "{:.4f}",
                 st.init.id, step, st.valid[0], st.valid[1], st.valid[2]);
  }

  void disband(job_self self) override {
    if (gate_) self->send_exit(gate_, caf::exit_reason::user_shutdown);
    gate_ = nullptr;
    finishing_ = false;
    workers_done_ = 0;
    checkpointing_ = false;
  }

  void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) override {
    auto& st = self->state;
    if (!gate_ || ended(st)) {
      auto step = !st.summary.empty() ? steps_per_worker_ : st.ckpt_step;
      return done([=](auto s) { fill(self->state, s, step, 0); });
    }
    self->request(gate_, job_request_timeout, ps_clock_atom::value)
        .then(
            [=](uint64_t slowest, uint64_t steps) {
              // steps counts this placement's; add the checkpoint's
              auto before = self->state.start_step * cfg_.workers;
              done([=](auto s) {
                fill(self->state, s, slowest, steps + before);
              });
            },
            [=](caf::error&) {
              done([=](auto s) { fill(self->state, s, 0, 0); });
            });
  }

private:
  static ps_shard_actor shard(job_self self, size_t i) {
    return caf::actor_cast<ps_shard_actor>(self->state.gang[i].handle);
  }

  /// Shard i's state in the last checkpoint (an empty table without one).
  caf::expected<envelope> shard_state(const job_state& st, size_t i) const {
    auto index = static_cast<uint32_t>(i);
    if (st.ckpt.empty())
      return make_envelope<schema::ShardState>(
          [&](auto b) { b.setIndex(index); });
    return st.ckpt.visit<schema::JobCheckpoint>(
        [&](auto c) {
          for (auto s : c.getShards())
            if (s.getIndex() == index)
              return make_envelope<schema::ShardState>([&](auto b) {
                b.setIndex(index);
                b.setKeys(s.getKeys());
                b.setZ(s.getZ());
                b.setN(s.getN());
              });
          return make_envelope<schema::ShardState>(
              [&](auto b) { b.setIndex(index); });
        },
        whole_message);
  }

  static envelope cut(uint64_t step, uint32_t attempt,
                      const std::vector<envelope>& shards) {
    return make_envelope<schema::JobCheckpoint>([&](auto c) {
      c.setStep(step);
      c.setAttempt(attempt);
      c.setAtMs(wall_ms());
      auto list = c.initShards(static_cast<unsigned>(shards.size()));
      for (unsigned k = 0; k < shards.size(); ++k)
        (void)shards[k].visit<schema::ShardState>(
            [&](auto r) {
              list.setWithCaveats(k, r);
              return true;
            },
            whole_message);
    });
  }

  void fill(const job_state& st, schema::JobStatus::Builder s, uint64_t step,
            uint64_t steps_done) const {
    s.setShards(cfg_.shards);
    s.setConsistency(cfg_.consistency);
    s.setEpochs(cfg_.epochs);
    s.setStep(step);
    s.setSteps(steps_per_worker_);
    uint64_t examples = 0;
    if (!st.summary.empty()) {
      examples = outcome_.examples;
    } else {
      // counted, not read from the rows: a stopped job dropped them
      auto total = static_cast<uint64_t>(train_rows_) * cfg_.epochs;
      examples = std::min<uint64_t>(total, steps_done * cfg_.batch);
    }
    s.setExamples(examples);
    double training =
        st.training_since == steady::time_point{}
            ? 0
            : std::chrono::duration<double>(steady::now() - st.training_since)
                  .count();
    if (outcome_.train_seconds > 0) training = outcome_.train_seconds;
    s.setExamplesPerSecond(training > 0 ? examples / training : 0);
  }

  void start_workers(job_self self) {
    auto& st = self->state;
    auto attempt = st.attempt;
    std::vector<std::string> names;
    for (uint32_t w = 0; w < cfg_.workers; ++w)
      names.push_back(st.gang[cfg_.shards + w].name);
    gate_ = spawn_ps_gate(self->system(), names, cfg_.staleness, st.start_step,
                          caf::actor_cast<caf::actor>(self), st.attempt);
    std::vector<caf::actor> shards;
    for (uint32_t s = 0; s < cfg_.shards; ++s)
      shards.push_back(st.gang[s].handle);
    auto history = std::move(outcome_.history);
    outcome_ = sparse_outcome{};
    outcome_.history = std::move(history);
    workers_done_ = 0;
    validating_ = false;
    if (cfg_.valid_every > 0) {
      next_valid_ = (st.start_step / cfg_.valid_every + 1) * cfg_.valid_every;
      self->send(self, job_valid_atom::value);
    }
    auto chunk = rows_chunk_;
    for (uint32_t w = 0; w < cfg_.workers; ++w) {
      auto& m = st.gang[cfg_.shards + w];
      auto worker = caf::actor_cast<ps_worker_actor>(m.handle);
      auto count = rows_dealt(train_rows_, w, cfg_.workers);
      auto setup = worker_setup(m.name, cfg_.batch, cfg_.epochs, data_->train,
                                w, cfg_.workers, 0, std::min(chunk, count),
                                count > chunk, st.start_step);
      self->request(worker, job_request_timeout, ps_setup_atom::value, setup,
                    shards, caf::actor_cast<caf::actor>(gate_))
          .then(
              [=] {
                send_rows(self, worker, w, chunk, count, attempt, [=] {
                  self->request(worker, caf::infinite, ps_train_atom::value)
                      .then(
                          [=](uint64_t rows, double loss) {
                            auto& st = self->state;
                            if (st.attempt != attempt || ended(st)) return;
                            outcome_.examples += rows;
                            outcome_.loss += loss;
                            if (++workers_done_ < cfg_.workers) return;
                            outcome_.train_seconds =
                                std::chrono::duration<double>(steady::now() -
                                                              st.training_since)
                                    .count();
                            finish(self);
                          },
                          [=](caf::error& err) {
                            if (self->state.attempt == attempt)
                              gang_error(self, err);
                          });
                });
              },
              [=](caf::error& err) {
                if (self->state.attempt == attempt) gang_error(self, err);
              });
    }
    arm_checkpoint_timer(self);
  }

  /// Sends worker w its dealt rows [begin, count), rows_chunk_ at a time,
  /// each once the one before is in, then calls `then`.
  void send_rows(job_self self, ps_worker_actor worker, uint32_t w,
                 size_t begin, size_t count, uint32_t attempt,
                 std::function<void()> then) {
    if (self->state.attempt != attempt || ended(self->state)) return;
    if (begin >= count) return then();
    auto end = std::min(begin + rows_chunk_, count);
    auto rows = worker_setup({}, 0, 0, data_->train, w, cfg_.workers, begin,
                             end, end < count);
    self->request(worker, job_request_timeout, ps_rows_atom::value, rows)
        .then([=] { send_rows(self, worker, w, end, count, attempt, then); },
              [=](caf::error& err) {
                if (self->state.attempt == attempt) gang_error(self, err);
              });
  }

  /// Dumps every shard's weights, then calls `then` with them (keys and
  /// weights). A shard that went meanwhile: its down message decides, but
  /// while finishing, or for any other error, the job regroups or fails.
  void dump_then(job_self self, std::function<void(sparse_outcome)> then) {
    auto left = std::make_shared<size_t>(cfg_.shards);
    auto attempt = self->state.attempt;
    auto got = std::make_shared<sparse_outcome>();
    for (size_t i = 0; i < cfg_.shards; ++i)
      self->request(shard(self, i), job_request_timeout, ps_dump_atom::value)
          .then(
              [=](const envelope& e) {
                auto& st = self->state;
                if (st.attempt != attempt || ended(st)) return;
                // each list read once: every read of a list pointer counts
                // its words against the reader's traversal limit
                auto read = e.visit<schema::SparseValues>(
                    [&](auto r) {
                      auto keys = r.getKeys();
                      auto values = r.getValues();
                      auto n = std::min(keys.size(), values.size());
                      for (unsigned k = 0; k < n; ++k) {
                        got->keys.push_back(keys[k]);
                        got->weights.push_back(values[k]);
                      }
                      return true;
                    },
                    whole_message);
                if (!read) {
                  validating_ = false;
                  return fail(self, read.error());
                }
                if (--*left == 0) then(std::move(*got));
              },
              [=](caf::error& err) {
                if (self->state.attempt != attempt) return;
                validating_ = false;
                if (finishing_ || !went_away(err)) return gang_error(self, err);
                // a validation's dump met a shard that went: again later
                self->delayed_send(self, valid_retry, job_valid_atom::value);
              });
  }

  void finish(job_self self) {
    finishing_ = true;
    dump_then(self, [=](sparse_outcome weights) {
      auto& st = self->state;
      if (ended(st) || !data_) return; // stopped meanwhile
      outcome_.keys = std::move(weights.keys);
      outcome_.weights = std::move(weights.weights);
      // the rows the checkpoint it started from had trained
      for (uint32_t w = 0; w < cfg_.workers; ++w) {
        auto n = rows_dealt(train_rows_, w, cfg_.workers);
        outcome_.examples_before += rows_after(n, cfg_.batch, st.start_step);
      }
      outcome_.examples += outcome_.examples_before;
      outcome_.start_step = st.start_step;
      outcome_.attempts = st.attempt;
      outcome_.usage = usage_json(st);
      outcome_.data_wait_share = data_wait_share_of(st);
      auto elapsed =
          std::chrono::duration<double>(steady::now() - st.started).count();
      auto summary = write_sparse_results(cfg_, st.init.out_dir, *data_,
                                          outcome_, elapsed);
      if (!summary) return fail(self, summary.error());
      finish_job(self, *summary);
    });
  }

  job_config cfg_;
  std::shared_ptr<sparse_data> data_;
  /// A worker's dealt rows per envelope (start_workers).
  /// Rows per WorkerSetup envelope (about 64 MiB of them).
  size_t rows_chunk_ = 1;
  /// data_'s row counts, kept once release() dropped the rows.
  size_t train_rows_ = 0, valid_rows_ = 0;
  uint64_t steps_per_worker_ = 0;
  ps_gate_actor gate_;
  size_t workers_done_ = 0;
  bool checkpointing_ = false;
  /// The workers are done and the shards are being dumped: a shard lost
  /// now regroups the job.
  bool finishing_ = false;
  /// valid_every: the slowest worker's step that triggers the next
  /// validation, and whether one is under way.
  uint64_t next_valid_ = 0;
  bool validating_ = false;
  sparse_outcome outcome_;
};

} // namespace

std::shared_ptr<job_plan> make_sparse_plan(const job_config& cfg) {
  return std::make_shared<sparse_plan>(cfg);
}

} // namespace troupe::training
