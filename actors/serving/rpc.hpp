#pragma once

// The `Predictor` RPC interface (schemas/serving.capnp) served by the head's
// gateway as Cluster.service("serving"): predictions go to the deployment's
// router; everything else to the serving service. A request by entity ids
// is first filled with the features of the deployment's feature groups,
// looked up through the feature store and named as `troupe features join`
// names its columns, so that a model trained on a join's output is served
// the same columns.

#include "runtime/gateway.hpp"

namespace troupe::serving {

/// The "serving" RPC service, for node_options::rpc_services.
rpc_service make_rpc_service();

} // namespace troupe::serving
