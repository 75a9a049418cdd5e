#include "runtime/node.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "runtime/client.hpp"
#include "runtime/cluster.hpp"
#include "runtime/errors.hpp"
#include "runtime/gateway.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe {

namespace {

std::mutex service_kinds_mtx;
std::set<std::string>& service_kinds() {
  static std::set<std::string> kinds;
  return kinds;
}

/// Spawns the head's services through the directory (so they are registered
/// by name), waiting until the head's agent has joined. Bounded: 10 s.
caf::error spawn_services(caf::actor_system& sys, const caf::actor& directory,
                          const std::vector<head_service>& services,
                          const std::string& data_dir,
                          const std::function<bool()>& stopping = {}) {
  caf::scoped_actor self{sys};
  for (auto& s : services) {
    caf::error last;
    bool done = false;
    for (int attempt = 0; attempt < 200 && !done; ++attempt) {
      if (stopping && stopping()) return caf::none; // shut down meanwhile
      self->request(directory, std::chrono::seconds{10}, caf::spawn_atom::value,
                    s.kind, std::string{"head"},
                    s.config.empty() ? data_dir : s.config, s.name)
          .receive([&](const envelope&) { done = true; },
                   [&](caf::error& err) { last = std::move(err); });
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    if (!done)
      return make_error(errc::io_failure, "cannot start the head service " +
                                              s.name + " (" + s.kind +
                                              "): " + describe(last));
  }
  return caf::none;
}

/// Waits (bounded: 5 s) until `directory` lists `count` nodes; false if it
/// does not, or once `stopping` says so.
bool wait_for_nodes(caf::actor_system& sys, const caf::actor& directory,
                    size_t count, const std::function<bool()>& stopping = {}) {
  caf::scoped_actor self{sys};
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (stopping && stopping()) return false;
    size_t joined = 0;
    self->request(directory, std::chrono::seconds{5}, snapshot_atom::value)
        .receive(
            [&](const envelope& snap) {
              (void)snap.visit<schema::Snapshot>(
                  [&](auto s) { joined = s.getNodes().size(); });
            },
            [&](caf::error&) {});
    if (joined >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{25});
  }
  return false;
}
} // namespace

void mark_service_kind(const std::string& kind) {
  std::lock_guard<std::mutex> guard{service_kinds_mtx};
  service_kinds().insert(kind);
}

bool is_service_kind(const std::string& kind) {
  std::lock_guard<std::mutex> guard{service_kinds_mtx};
  return service_kinds().count(kind) != 0;
}

void configure(caf::actor_system_config& cfg, const scheduler_options& sched,
               const kind_registrar& kinds) {
  cfg.set("scheduler.policy", sched.policy == "stealing"
                                  ? caf::atom("stealing")
                                  : caf::atom("sharing"));
  // CAF defaults to at least 4 workers; more workers than cores only adds
  // sleep/wake-up hops (measured in tests/bench/bench_envelope).
  auto threads = sched.threads > 0
                     ? sched.threads
                     : std::max<size_t>(1, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  // CAF's BASP hands each incoming message to a worker thread by default:
  // one more thread wake-up per message. With 0 the multiplexer thread
  // deserializes it: on 2 cores, p50 round trip 250 -> 170 us and 1 KB
  // messages 100k -> 145k/s (tests/bench/bench_remote).
  cfg.set("middleman.workers", sched.basp_workers);
  cfg.load<caf::io::middleman>();
  register_types(cfg);
  register_builtin_kinds(cfg);
  if (kinds) kinds(cfg);
}

caf::expected<std::string> read_secret(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::not_found,
                      "cannot read the secret file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  if (b == std::string::npos)
    return make_error(errc::invalid_argument,
                      "the secret file '" + path + "' is empty");
  return s.substr(b, e - b + 1);
}

caf::expected<std::string> load_or_create_secret(const std::string& path,
                                                 const std::string& dir) {
  if (!path.empty()) return read_secret(path);
  auto file = dir + "/secret";
  if (access(file.c_str(), F_OK) == 0) return read_secret(file);
  std::random_device rd;
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string secret;
  for (int i = 0; i < 40; ++i)
    secret += alphabet[rd() % (sizeof(alphabet) - 1)];
  auto old = umask(077);
  std::ofstream out{file};
  umask(old);
  if (!(out << secret << '\n'))
    return make_error(errc::io_failure,
                      "cannot write the secret file '" + file + "'");
  return secret;
}

namespace {

/// How a node process is told to stop.
struct stop_flag {
  std::atomic<int> code{-1};
  void set(int c) {
    int expected = -1;
    code.compare_exchange_strong(expected, c);
  }
};

int wait_for_stop(stop_flag& flag, const sigset_t& signals) {
  auto lg = log::get("node");
  while (flag.code.load() < 0) {
    timespec ts{0, 100 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      lg->warn("received {}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      flag.set(0);
    }
  }
  return flag.code.load();
}

bool make_dirs(const std::string& path) {
  std::string cur;
  std::stringstream ss{path};
  std::string part;
  if (!path.empty() && path[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

/// Starts the node's extensions; an error names the first that failed.
caf::expected<std::vector<std::shared_ptr<void>>>
start_extensions(const node_options& opts, caf::actor_system& sys,
                 const caf::actor& directory) {
  std::vector<std::shared_ptr<void>> held;
  node_context ctx{sys, directory, opts.name};
  for (auto& ext : opts.extensions) {
    auto r = ext(ctx);
    if (!r) return r.error();
    held.push_back(std::move(*r));
  }
  return held;
}

int run_head(const node_options& opts, const kind_registrar& kinds,
             const sigset_t& signals) {
  auto lg = log::get("node");
  auto dir = opts.data_dir.empty() ? "run/" + opts.name : opts.data_dir;
  if (!make_dirs(dir)) {
    lg->error("cannot create the data directory '{}'", dir);
    return 2;
  }
  auto secret = load_or_create_secret(opts.secret_file, dir);
  if (!secret) {
    lg->error("{}", describe(secret.error()));
    return 2;
  }
  caf::actor_system_config cfg;
  configure(cfg, opts.scheduler, kinds);
  caf::actor_system sys{cfg};
  stop_flag flag;
  directory_config dcfg;
  dcfg.secret = *secret;
  dcfg.node_timeout = opts.node_timeout;
  dcfg.heartbeat = opts.heartbeat;
  dcfg.on_shutdown = [&flag] { flag.set(0); };
  auto directory = spawn_directory(sys, dcfg);
  auto port =
      sys.middleman().publish(directory, opts.port, opts.bind.c_str(), true);
  if (!port) {
    lg->error("cannot listen for nodes on {}:{}: {}", opts.bind, opts.port,
              sys.render(port.error()));
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    return 2;
  }
  agent_config acfg;
  acfg.name = opts.name;
  acfg.slots = opts.slots;
  acfg.labels = opts.labels;
  acfg.secret = *secret;
  acfg.is_head = true;
  acfg.data_dir = dir;
  if (opts.bind != "0.0.0.0" && opts.bind != "::") acfg.head_host = opts.bind;
  acfg.on_stop = [&flag](const std::string&) { flag.set(0); };
  auto agent = spawn_agent(sys, directory, acfg);
  auto stopping = [&flag] { return flag.code.load() >= 0; };
  // The gateway opens once the head's own node is listed: a client that
  // connects at once may spawn on the head.
  auto stop_head = [&] {
    caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  };
  if (!wait_for_nodes(sys, directory, 1, stopping)) {
    if (!stopping())
      lg->error("head {}: its node did not join in 5 s", opts.name);
    stop_head();
    return stopping() ? flag.code.load() : 2;
  }
  gateway gw{sys, directory, std::chrono::seconds{30}, opts.rpc_services,
             opts.gateway_threads};
  auto gport = gw.start(opts.gateway_bind, opts.gateway_port);
  if (!gport) {
    lg->error("{}", describe(gport.error()));
    stop_head();
    return 2;
  }
  if (auto err = spawn_services(sys, directory, opts.services, dir, stopping);
      err && !stopping()) {
    lg->error("{}", describe(err));
    gw.stop();
    stop_head();
    return 2;
  }
  auto extensions = start_extensions(opts, sys, directory);
  if (!extensions) {
    lg->error("{}", describe(extensions.error()));
    gw.stop();
    stop_head();
    return 2;
  }
  {
    std::ofstream out{dir + "/head.json"};
    out << "{\"port\":" << *port << ",\"gateway_port\":" << *gport
        << ",\"pid\":" << getpid() << "}\n";
  }
  lg->info("head {} listening for nodes on {}:{}, gateway on {}:{}, data in "
           "{}",
           opts.name, opts.bind, *port, opts.gateway_bind, *gport, dir);
  auto code = wait_for_stop(flag, signals);
  extensions->clear();
  gw.stop();
  caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  sys.middleman().close(*port);
  std::remove((dir + "/head.json").c_str());
  lg->info("head {} stopped", opts.name);
  return code;
}

int run_worker(const node_options& opts, const kind_registrar& kinds,
               const sigset_t& signals) {
  auto lg = log::get("node");
  auto hp = parse_host_port(opts.join, "127.0.0.1", 7700);
  if (!hp) {
    lg->error("--join: {}", describe(hp.error()));
    return 2;
  }
  std::string secret;
  if (!opts.secret_file.empty()) {
    auto s = read_secret(opts.secret_file);
    if (!s) {
      lg->error("{}", describe(s.error()));
      return 2;
    }
    secret = *s;
  }
  caf::actor_system_config cfg;
  configure(cfg, opts.scheduler, kinds);
  caf::actor_system sys{cfg};
  auto deadline = std::chrono::steady_clock::now() + opts.connect_timeout;
  caf::expected<caf::actor> head = caf::sec::cannot_connect_to_node;
  for (;;) {
    head = sys.middleman().remote_actor(hp->first, hp->second);
    if (head || std::chrono::steady_clock::now() >= deadline) break;
    timespec ts{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      lg->warn("stopped while trying to reach the head");
      return 0;
    }
  }
  if (!head) {
    lg->error("cannot reach the head at {}:{} within {} ms: {}", hp->first,
              hp->second, opts.connect_timeout.count(),
              sys.render(head.error()));
    return 2;
  }
  stop_flag flag;
  agent_config acfg;
  acfg.name = opts.name;
  acfg.slots = opts.slots;
  acfg.labels = opts.labels;
  acfg.secret = secret;
  acfg.data_dir = opts.data_dir.empty() ? "run/" + opts.name : opts.data_dir;
  acfg.head_host = hp->first;
  acfg.on_refused = [&flag](const std::string&) { flag.set(3); };
  acfg.on_stop = [&flag](const std::string& why) {
    flag.set(why == "shutdown requested" ? 0 : 4);
  };
  auto agent = spawn_agent(sys, *head, acfg);
  auto extensions = start_extensions(opts, sys, *head);
  if (!extensions) {
    lg->error("{}", describe(extensions.error()));
    caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
    return 2;
  }
  auto code = wait_for_stop(flag, signals);
  extensions->clear();
  caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
  lg->info("node {} stopped", opts.name);
  return code;
}

} // namespace

metrics_registry& process_metrics() {
  static metrics_registry registry;
  return registry;
}

int run_node(const node_options& opts, const kind_registrar& kinds) {
  // Signals are taken synchronously by the main thread; every thread started
  // from here on (CAF's, KJ's) inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<metrics_server> metrics;
  if (opts.metrics_port != 0) {
    auto m = metrics_server::start(process_metrics(), opts.metrics_bind,
                                   opts.metrics_port);
    if (!m) {
      log::get("node")->error("{}", describe(m.error()));
      return 2;
    }
    metrics = std::move(*m);
    log::get("node")->info("metrics on http://{}:{}/metrics", opts.metrics_bind,
                           metrics->port());
  }
  return opts.head ? run_head(opts, kinds, signals)
                   : run_worker(opts, kinds, signals);
}

// -- local_cluster ------------------------------------------------------------

struct local_cluster::impl {
  struct member {
    std::unique_ptr<caf::actor_system_config> cfg;
    std::unique_ptr<caf::actor_system> sys;
    caf::actor agent;
  };
  std::vector<member> nodes; // [0] is the head
  caf::actor directory;
  std::unique_ptr<gateway> gw;
  uint16_t port = 0;
  uint16_t gport = 0;

  ~impl() {
    if (gw) gw->stop();
    for (auto i = nodes.rbegin(); i != nodes.rend(); ++i)
      if (i->agent)
        caf::anon_send_exit(i->agent, caf::exit_reason::user_shutdown);
    if (directory)
      caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    for (auto i = nodes.rbegin(); i != nodes.rend(); ++i)
      i->sys.reset();
  }
};

local_cluster::local_cluster(std::unique_ptr<impl> ptr)
    : impl_(std::move(ptr)) {
  // nop
}

local_cluster::~local_cluster() = default;

caf::expected<std::unique_ptr<local_cluster>>
local_cluster::start(size_t workers, uint32_t slots,
                     const kind_registrar& kinds, scheduler_options sched,
                     std::vector<head_service> services, std::string data_dir,
                     std::vector<rpc_service> rpc_services) {
  auto st = std::make_unique<impl>();
  std::string secret = "local-cluster-secret";
  auto make_member = [&] {
    impl::member m;
    m.cfg = std::make_unique<caf::actor_system_config>();
    configure(*m.cfg, sched, kinds);
    m.sys = std::make_unique<caf::actor_system>(*m.cfg);
    return m;
  };
  st->nodes.push_back(make_member());
  auto& head = *st->nodes[0].sys;
  directory_config dcfg;
  dcfg.secret = secret;
  st->directory = spawn_directory(head, dcfg);
  auto port = head.middleman().publish(st->directory, 0, "127.0.0.1", true);
  if (!port)
    return make_error(errc::io_failure,
                      "local cluster: cannot publish the directory: " +
                          head.render(port.error()));
  st->port = *port;
  st->gw = std::make_unique<gateway>(
      head, st->directory, std::chrono::seconds{30}, std::move(rpc_services));
  auto gport = st->gw->start("127.0.0.1", 0);
  if (!gport) return gport.error();
  st->gport = *gport;
  agent_config hcfg;
  hcfg.name = "head";
  hcfg.slots = slots;
  hcfg.secret = secret;
  hcfg.is_head = true;
  hcfg.data_dir = data_dir;
  st->nodes[0].agent = spawn_agent(head, st->directory, hcfg);
  for (size_t i = 1; i <= workers; ++i) {
    st->nodes.push_back(make_member());
    auto& m = st->nodes.back();
    auto dir = m.sys->middleman().remote_actor("127.0.0.1", st->port);
    if (!dir)
      return make_error(
          errc::io_failure,
          "local cluster: worker " + std::to_string(i) +
              " cannot reach the head: " + m.sys->render(dir.error()));
    agent_config wcfg;
    wcfg.name = "worker-" + std::to_string(i);
    wcfg.slots = slots;
    wcfg.secret = secret;
    if (!data_dir.empty())
      wcfg.data_dir = data_dir + "/worker-" + std::to_string(i);
    m.agent = spawn_agent(*m.sys, *dir, wcfg);
  }
  if (!wait_for_nodes(head, st->directory, workers + 1))
    return make_error(errc::timeout,
                      "local cluster: nodes did not join in 5 s");
  if (auto err = spawn_services(head, st->directory, services, data_dir))
    return err;
  return std::unique_ptr<local_cluster>{new local_cluster(std::move(st))};
}

caf::actor_system& local_cluster::head_system() {
  return *impl_->nodes[0].sys;
}

caf::actor local_cluster::directory() const {
  return impl_->directory;
}

uint16_t local_cluster::gateway_port() const {
  return impl_->gport;
}

uint16_t local_cluster::node_port() const {
  return impl_->port;
}

caf::error local_cluster::stop_node(size_t index) {
  auto& nodes = impl_->nodes;
  if (index == 0 || index >= nodes.size())
    return make_error(errc::invalid_argument,
                      "local cluster: no worker " + std::to_string(index) +
                          " (workers are 1.." +
                          std::to_string(nodes.size() - 1) + ")");
  auto& m = nodes[index];
  if (!m.sys)
    return make_error(errc::not_found, "local cluster: worker " +
                                           std::to_string(index) +
                                           " is already stopped");
  caf::anon_send_exit(m.agent, caf::exit_reason::user_shutdown);
  m.agent = nullptr;
  m.sys.reset(); // waits for the node's actors, then closes its connections
  return caf::none;
}

} // namespace troupe
