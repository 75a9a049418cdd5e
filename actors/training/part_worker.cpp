#include "actors/training/part_worker.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "actors/training/wire.hpp"
#include "runtime/allocator.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "runtime/gpu_usage.hpp"
#include "runtime/node.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

struct part_worker_state {
  static inline const char* name = "troupe.part_worker";
  kind_args args;
  bool running = false;
  caf::typed_response_promise<envelope> done;
  /// Tells the training thread to stop at its next report.
  std::shared_ptr<std::atomic<bool>> cancel =
      std::make_shared<std::atomic<bool>>(false);
  /// Its peers, and their messages to the training thread.
  caf::actor before, after;
  /// The actors its part asks (part_actors_atom).
  std::vector<caf::actor> actors;
  std::shared_ptr<part_mailbox> inbox = std::make_shared<part_mailbox>();
};

using part_worker_self =
    caf::stateful_actor<part_worker_state,
                        typed_worker_of<part_worker_actor>::type>*;

/// How long a worker waits for its shard to reach its node.
constexpr auto shard_timeout = std::chrono::minutes{30};

/// Trains `part` on a thread of its own: off the actor's scheduler, since a
/// step blocks and the collectives are per thread. The outcome comes back
/// as (part_train_atom, model, error).
void start_thread(part_worker_self self, const envelope& part,
                  const caf::actor& job, const std::string& shard,
                  const std::string& shard_hash, const part_trainer& trainer,
                  std::chrono::steady_clock::time_point received) {
  auto me = caf::actor_cast<caf::actor>(self);
  auto a = self->state.args;
  auto stop = self->state.cancel;
  auto cache = local_dataset_cache(self->system());
  auto before = self->state.before;
  auto after = self->state.after;
  auto actors = self->state.actors;
  auto inbox = self->state.inbox;
  auto* sys = &self->system();
  std::thread{[=] {
    // the steps free and take the same buffers again: keep the pages
    // (runtime/allocator.hpp) while this part trains
    freed_pages_kept keep;
    part_context ctx{
        a,
        job,
        *stop,
        shard,
        [=] {
          if (!shard_hash.empty() && cache)
            caf::anon_send(cache, dataset_drop_atom::value, shard_hash);
        },
        received,
        shard.empty() ? 0.0
                      : std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - received)
                            .count(),
        before,
        after,
        *inbox,
        *sys,
        actors};
    auto out = trainer(part, ctx);
    if (out)
      caf::anon_send(me, part_train_atom::value, *out, caf::error{});
    else
      caf::anon_send(me, part_train_atom::value, envelope{}, out.error());
  }}.detach();
}

/// Marks the worker busy and returns its promise, or an error when it
/// trains already.
caf::expected<caf::typed_response_promise<envelope>>
begin_part(part_worker_self self) {
  auto& st = self->state;
  if (st.running)
    return make_error(errc::invalid_argument,
                      "worker " + st.args.name + " is training already");
  st.running = true;
  st.done = self->make_response_promise<envelope>();
  return st.done;
}

part_worker_actor::behavior_type
part_worker(part_worker_self self, kind_args args, part_trainer trainer) {
  self->identify(args);
  self->state.args = args;
  auto cancel = self->state.cancel;
  auto inbox = self->state.inbox;
  self->attach_functor([cancel, inbox] {
    cancel->store(true);
    inbox->wake();
  });
  return {
      [=](part_train_atom, const envelope& part,
          const caf::actor& job) -> caf::result<envelope> {
        auto rp = begin_part(self);
        if (!rp) return rp.error();
        start_thread(self, part, job, {}, {}, trainer,
                     std::chrono::steady_clock::now());
        return *rp;
      },
      [=](part_train_atom, const envelope& part, const caf::actor& job,
          const envelope& shard,
          const caf::actor& source) -> caf::result<envelope> {
        auto ref = dataset_ref_of(shard);
        if (!ref) return ref.error();
        auto rp = begin_part(self);
        if (!rp) return rp.error();
        auto received = std::chrono::steady_clock::now();
        auto cache = local_dataset_cache(self->system());
        if (!cache) {
          self->state.running = false;
          return make_error(errc::not_found, "worker " + self->state.args.name +
                                                 ": its node runs no dataset "
                                                 "cache");
        }
        self->request(cache, shard_timeout, dataset_fetch_atom::value, shard,
                      source)
            .then(
                [=](const std::string& path) {
                  if (self->state.cancel->load()) return;
                  start_thread(self, part, job, path, ref->hash, trainer,
                               received);
                },
                [=](caf::error& err) {
                  auto& st = self->state;
                  if (!st.running) return;
                  st.running = false;
                  st.done.deliver(make_error(
                      errc::not_found,
                      "worker " + st.args.name +
                          ": its rows did not arrive: " + describe(err)));
                });
        return *rp;
      },
      [=](part_train_atom, const envelope& model, const caf::error& err) {
        auto& st = self->state;
        if (!st.running) return;
        st.running = false;
        if (err)
          st.done.deliver(err);
        else
          st.done.deliver(model);
      },
      [=](part_peers_atom, const caf::actor& before, const caf::actor& after) {
        self->state.before = before;
        self->state.after = after;
      },
      [=](part_message_atom, const envelope& e) { self->state.inbox->put(e); },
      [=](part_actors_atom, const std::vector<caf::actor>& actors) {
        self->state.actors = actors;
      },
      self->stats_handler(),
  };
}

} // namespace

void register_part_kind(caf::actor_system_config& cfg, const char* kind,
                        part_trainer trainer) {
  cfg.add_actor_type(kind, [trainer](part_worker_self self, kind_args args) {
    return part_worker(self, std::move(args), trainer);
  });
  mark_service_kind(kind);
}

usage_meter start_usage(const part_context& ctx) {
  usage_meter usage{&std::chrono::steady_clock::now, ctx.received};
  usage.add_data(ctx.fetch_seconds);
  return usage;
}

void report_usage(const part_context& ctx, uint32_t rank, uint32_t attempt,
                  uint64_t step, const usage_meter& usage) {
  auto gpu = gpu_usage::get().utilisation();
  caf::anon_send(
      ctx.job, job_usage_atom::value,
      to_envelope(worker_usage{ctx.args.name, rank, attempt, step,
                               usage.split(), gpu ? *gpu : std::nan("")}));
}

caf::error
run_epochs(part_context& ctx, const std::string& who, const epoch_loop& l,
           const usage_meter& usage,
           const std::function<caf::expected<double>(uint32_t)>& fit,
           const std::function<caf::expected<std::vector<uint8_t>>()>& save) {
  if (l.reports)
    caf::anon_send(ctx.job, job_progress_atom::value, l.attempt,
                   uint64_t{l.start_epoch}, std::nan(""));
  for (auto e = l.start_epoch; e < l.epochs; ++e) {
    if (ctx.cancel.load())
      return make_error(errc::shutting_down, who + " was stopped");
    auto loss = fit(e);
    if (!loss) return loss.error();
    report_usage(ctx, l.rank, l.attempt, e + 1, usage);
    if (l.reports)
      caf::anon_send(ctx.job, job_progress_atom::value, l.attempt,
                     uint64_t{e} + 1, *loss);
    if (l.checkpoints && l.checkpoint_every > 0 && e + 1 < l.epochs &&
        (e + 1) % l.checkpoint_every == 0) {
      auto bytes = save();
      if (!bytes) return bytes.error();
      caf::anon_send(ctx.job, job_checkpoint_atom::value,
                     model_checkpoint(e + 1, l.attempt, *bytes, l.part));
    }
  }
  return caf::none;
}

std::string gloo_host(const std::string& head_host) {
  if (head_host.rfind("127.", 0) == 0 || head_host == "localhost")
    return "127.0.0.1";
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "127.0.0.1";
  return name;
}

caf::expected<models::torch_group> join_seat(const group_seat& seat,
                                             const std::string& head_host) {
  return models::torch_group::join(
      seat.store_host, seat.store_port, seat.group, static_cast<int>(seat.rank),
      static_cast<int>(seat.world), gloo_host(head_host), 60);
}

caf::error peer_lost_as_io(const std::string& who, caf::error err,
                           std::initializer_list<const char*> words) {
  if (err.category() == caf::atom("troupe")) return err;
  auto text = describe(err);
  for (auto* w : words)
    if (text.find(w) != std::string::npos)
      return make_error(errc::io_failure,
                        who + ": a peer of the collective went away: " + text);
  return err;
}

caf::error gloo_peer_lost(const std::string& who, caf::error err) {
  return peer_lost_as_io(who, std::move(err),
                         {"Connection", "connection", "closed", "Timed out",
                          "timed out", "reset by peer", "Broken pipe", "Socket",
                          "socket", "gloo"});
}

envelope model_checkpoint(uint64_t step, uint32_t attempt,
                          const std::vector<uint8_t>& model,
                          const std::string& config) {
  return make_envelope<schema::JobCheckpoint>([&](auto c) {
    c.setStep(step);
    c.setAttempt(attempt);
    c.setAtMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count());
    c.setModel(kj::arrayPtr(model.data(), model.size()));
    c.setModelConfig(config);
  });
}

} // namespace troupe::training
