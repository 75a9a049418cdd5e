#pragma once

// Model serving on actors.
//
// serving.service (one per cluster, on the head, registered as "serving";
// its registry and deployments live in DATA/serving):
//   (register_atom, envelope Registration)  -> envelope ModelVersion
//   (models_atom, string name)              -> envelope ModelList
//   (stage_atom, string name, uint32 version, string stage, bool on)
//                                           -> envelope ModelVersion
//   (fetch_atom, string name, uint32 version)
//                                           -> envelope ModelVersion (with
//                                              the files' content)
//   (deploy_atom, envelope DeploymentSpec)  -> envelope DeploymentStatus
//   (deployments_atom)                      -> envelope DeploymentList
//   (status_atom, string name)              -> envelope DeploymentStatus
//   (scale_atom, string name, uint32 min, uint32 max)
//                                           -> envelope DeploymentStatus
//   (traffic_atom, string name, string weights "V=W,V=W")
//                                           -> envelope DeploymentStatus
//   (promote_atom, string name, uint32 version) -> envelope DeploymentStatus
//   (rollback_atom, string name)            -> envelope DeploymentStatus
//   (undeploy_atom, string name)            -> bool
//   (router_atom, string name)              -> caf::actor (the router)
//   Deployments are recorded in DATA/serving/deployments and started again
//   when the head restarts.
//
// serving router (one per deployment, on the head, spawned by the service):
//   (predict_atom, envelope PredictRequest) -> envelope PredictResponse
//   (predict_atom, envelope PredictRequest, predict_reply) -> ()
//       ; the gateway's form: the answer (or error) settles the KJ promise
//         behind predict_reply directly, without a reply hop through an
//         actor; a router that is gone drops the message, which rejects it
//   (status_atom)                           -> envelope DeploymentStatus
//   (configure_atom, envelope DeploymentStatus) -> envelope DeploymentStatus
//                                              ; new spec and traffic
//   It sends each request to the least-loaded ready replica of the version
//   the traffic split picks, re-sends the requests of a replica that goes
//   down to another one, refuses past the queue bound ("overloaded"), scales
//   replicas between min and max, and logs every prediction.
//
// serving.replica (takes a worker slot; spawned through the directory on a
// node with a free slot; config "DEPLOYMENT"):
//   (load_atom, envelope ModelVersion, envelope DeploymentSpec) -> bool
//       ; writes the files to NODE_DATA/serving/cache/NAME/vN, checks them,
//         loads the model
//   (predict_atom, envelope PredictRequest) -> envelope PredictResponse
//   (drain_atom)                            -> bool, once its queue is empty
//   Requests are batched: up to maxBatchRows rows, waiting at most
//   maxQueueDelayUs for a batch to fill; past queueBoundRows: "overloaded".

#include <memory>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <kj/async.h>

#include "runtime/envelope.hpp"

namespace troupe::serving {

using register_atom = caf::atom_constant<caf::atom("register")>;
using models_atom = caf::atom_constant<caf::atom("models")>;
using stage_atom = caf::atom_constant<caf::atom("stage")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using deployments_atom = caf::atom_constant<caf::atom("deploymts")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using scale_atom = caf::atom_constant<caf::atom("scale")>;
using traffic_atom = caf::atom_constant<caf::atom("traffic")>;
using promote_atom = caf::atom_constant<caf::atom("promote")>;
using rollback_atom = caf::atom_constant<caf::atom("rollback")>;
using undeploy_atom = caf::atom_constant<caf::atom("undeploy")>;
using router_atom = caf::atom_constant<caf::atom("router")>;
using predict_atom = caf::atom_constant<caf::atom("predict")>;
using configure_atom = caf::atom_constant<caf::atom("configure")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using batch_atom = caf::atom_constant<caf::atom("batch")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// Where the router sends the answer of a gateway's predict: the fulfiller
/// of a promise on the gateway's KJ thread (thread-safe). Made by
/// make_predict_reply.
using predict_reply =
    std::shared_ptr<kj::Own<kj::CrossThreadPromiseFulfiller<envelope>>>;

/// A predict_reply for `f`. Dropping its last copy unanswered (a router
/// that is gone drops its messages) rejects the promise with a
/// DISCONNECTED exception, which no answer of a router carries.
inline predict_reply
make_predict_reply(kj::Own<kj::CrossThreadPromiseFulfiller<envelope>> f) {
  using own = kj::Own<kj::CrossThreadPromiseFulfiller<envelope>>;
  return predict_reply{
      new own(kj::mv(f)), [](own* p) {
        if ((*p)->isWaiting())
          (*p)->reject(kj::Exception(kj::Exception::Type::DISCONNECTED,
                                     __FILE__, __LINE__,
                                     kj::heapString("the router dropped the "
                                                    "request")));
        delete p;
      }};
}

inline constexpr const char* service_kind = "serving.service";
inline constexpr const char* replica_kind = "serving.replica";
inline constexpr const char* service_name = "serving";

/// Registers serving.service (a service kind: it takes no slot) and
/// serving.replica (takes a slot).
void register_kinds(caf::actor_system_config& cfg);

} // namespace troupe::serving

// A predict_reply only ever travels to a local actor, never over the wire.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::serving::predict_reply)
