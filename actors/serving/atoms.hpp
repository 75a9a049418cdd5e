#pragma once

// The atoms of the serving family, one message each (the protocols that use
// them are declared in service.hpp, router.hpp and replica.hpp). Names such
// as status_atom and tick_atom also exist in other families' namespaces;
// within troupe::serving each atom below carries exactly one message.

#include <caf/atom.hpp>

namespace troupe::serving {

// serving.service (service.hpp)
using register_atom = caf::atom_constant<caf::atom("register")>;
using models_atom = caf::atom_constant<caf::atom("models")>;
using stage_atom = caf::atom_constant<caf::atom("stage")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using deployments_atom = caf::atom_constant<caf::atom("deploymts")>;
/// (status_atom, string deployment): the service's view of one deployment.
using status_atom = caf::atom_constant<caf::atom("status")>;
using scale_atom = caf::atom_constant<caf::atom("scale")>;
using traffic_atom = caf::atom_constant<caf::atom("traffic")>;
using promote_atom = caf::atom_constant<caf::atom("promote")>;
using rollback_atom = caf::atom_constant<caf::atom("rollback")>;
using undeploy_atom = caf::atom_constant<caf::atom("undeploy")>;
using router_atom = caf::atom_constant<caf::atom("router")>;

// a deployment's router (router.hpp)
/// (predict_atom, PredictRequest): to a router or a replica, answered with
/// a PredictResponse.
using predict_atom = caf::atom_constant<caf::atom("predict")>;
/// (relay_atom, PredictRequest, predict_reply): the gateway's predict,
/// answered through the KJ promise behind predict_reply.
using relay_atom = caf::atom_constant<caf::atom("relay")>;
/// (deployment_atom): a router's DeploymentStatus.
using deployment_atom = caf::atom_constant<caf::atom("deploymnt")>;
using configure_atom = caf::atom_constant<caf::atom("configure")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

// serving.replica (replica.hpp)
using load_atom = caf::atom_constant<caf::atom("load")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// From a replica's engine to the replica: the model is loaded (no error)
/// or could not be.
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;
/// From a replica's engine to the replica: finished batches wait.
using batch_atom = caf::atom_constant<caf::atom("batch")>;

} // namespace troupe::serving
