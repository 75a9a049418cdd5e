#pragma once

// Model serving on actors: the serving service's protocol. The router's is
// in router.hpp, the replica's in replica.hpp, the atoms in atoms.hpp.

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/serving/atoms.hpp"
#include "actors/serving/predict_reply.hpp"
#include "runtime/envelope.hpp"
#include "runtime/worker.hpp"

namespace troupe::serving {

/// serving.service (one per cluster, on the head, registered as "serving";
/// its registry and deployments live in DATA/serving). Deployments are
/// recorded in DATA/serving/deployments and started again when the head
/// restarts. The service is a typed_worker kind (runtime/worker.hpp) that
/// the directory spawns by name and hands out as a caf::actor: its callers
/// hold it by this interface (caf::actor_cast at the directory's edge).
using service_actor = caf::typed_actor<
    /// (register, Registration) -> ModelVersion
    caf::replies_to<register_atom, envelope>::with<envelope>,
    /// (models, name; "" for all) -> ModelList
    caf::replies_to<models_atom, std::string>::with<envelope>,
    /// (stage, name, version, stage, on) -> ModelVersion
    caf::replies_to<stage_atom, std::string, uint32_t, std::string,
                    bool>::with<envelope>,
    /// (fetch, name, version) -> ModelVersion with the files' content
    caf::replies_to<fetch_atom, std::string, uint32_t>::with<envelope>,
    /// (deploy, DeploymentSpec) -> DeploymentStatus
    caf::replies_to<deploy_atom, envelope>::with<envelope>,
    /// (deployments) -> DeploymentList
    caf::replies_to<deployments_atom>::with<envelope>,
    /// (status, deployment) -> DeploymentStatus (its router's view)
    caf::replies_to<status_atom, std::string>::with<envelope>,
    /// (scale, deployment, min, max) -> DeploymentStatus
    caf::replies_to<scale_atom, std::string, uint32_t,
                    uint32_t>::with<envelope>,
    /// (traffic, deployment, weights "V=W,V=W") -> DeploymentStatus
    caf::replies_to<traffic_atom, std::string, std::string>::with<envelope>,
    /// (promote, deployment, version) -> DeploymentStatus
    caf::replies_to<promote_atom, std::string, uint32_t>::with<envelope>,
    /// (rollback, deployment) -> DeploymentStatus
    caf::replies_to<rollback_atom, std::string>::with<envelope>,
    /// (undeploy, deployment) -> true
    caf::replies_to<undeploy_atom, std::string>::with<bool>,
    /// (router, deployment) -> the deployment's router (router.hpp), as a
    /// caf::actor for the gateway
    caf::replies_to<router_atom,
                    std::string>::with<caf::actor>>::extend_with<stats_actor>;

/// The actor class of the service.
using service_self = typed_worker_of<service_actor>::type;

inline constexpr const char* service_kind = "serving.service";
inline constexpr const char* replica_kind = "serving.replica";
inline constexpr const char* service_name = "serving";

/// Registers serving.service (a service kind: it takes no slot) and
/// serving.replica (takes a slot).
void register_kinds(caf::actor_system_config& cfg);

} // namespace troupe::serving
