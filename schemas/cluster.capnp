@0xd8cf78ce48ac97e8;
# Cluster control: membership, the directory of nodes and named actors, and
# the `Cluster` RPC interface served by the head's gateway.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

using Common = import "common.capnp";
using Datasets = import "datasets.capnp";

struct NodeInfo {
  # One member of the cluster as the head's directory sees it.
  name @0 :Text;                         # unique node name
  host @1 :Text;                         # host the node runs on
  pid @2 :UInt32;                        # its process id on that host
  slots @3 :UInt32;                      # worker slots it offers
  freeSlots @4 :UInt32;                  # slots not taken by actors
  labels @5 :List(Common.KeyValue);      # user labels (--label k=v)
  lastSeenMs @6 :Int64;                  # wall-clock ms of its last heartbeat
  isHead @7 :Bool;                       # true for the head node
  incarnation @8 :UInt64;                # increases each time the name rejoins
  joinedMs @9 :Int64;                    # wall-clock ms when it joined
}

struct ActorInfo {
  # One named actor registered in the directory.
  name @0 :Text;   # unique actor name
  node @1 :Text;   # node it runs on
  kind @2 :Text;   # actor kind it was spawned as
  id @3 :UInt64;   # CAF actor id on that node
}

struct JoinRequest {
  # Sent by a node's agent to the head's directory when it joins.
  name @0 :Text;                     # requested node name
  secret @1 :Data;                   # the cluster secret
  host @2 :Text;                     # host name of the joining node
  pid @3 :UInt32;                    # its process id
  slots @4 :UInt32;                  # slots it offers
  labels @5 :List(Common.KeyValue);  # its labels
  isHead @6 :Bool;                   # the head's own agent (honoured only in
                                     # the head's process)
}

struct JoinReply {
  # The directory's answer to a JoinRequest.
  accepted @0 :Bool;       # false: refused, see reason
  reason @1 :Text;         # why it was refused
  headName @2 :Text;       # the head's node name
  incarnation @3 :UInt64;  # this membership's incarnation
  heartbeatMs @4 :UInt32;  # how often to send heartbeats
}

struct Heartbeat {
  # Periodic liveness and load report from a node's agent.
  name @0 :Text;           # node name
  incarnation @1 :UInt64;  # incarnation from the JoinReply
  freeSlots @2 :UInt32;    # slots free now
}

struct SpawnRequest {
  # Ask a node's agent to spawn an actor of a registered kind.
  kind @0 :Text;    # the actor kind (a CAF actor factory name)
  name @1 :Text;    # name to register it under; empty: "<kind>-<n>"
  config @2 :Text;  # kind-specific configuration text
}

struct ActorStats {
  # Counters of one actor (or of a node's agent).
  target @0 :Text;       # actor or node name
  node @1 :Text;         # node it runs on
  mailboxSize @2 :UInt64;  # messages waiting
  handled @3 :UInt64;    # messages handled so far
  uptimeMs @4 :UInt64;   # ms since it started
}

struct StatsList {
  # Several ActorStats.
  stats @0 :List(ActorStats);  # one entry per actor or node
}

struct Snapshot {
  # The whole directory at one moment.
  nodes @0 :List(NodeInfo);    # every live node
  actors @1 :List(ActorInfo);  # every registered actor
  slots @2 :List(SlotHolder);  # every slot of every node, and who holds it
}

# -- the cluster's slots ------------------------------------------------------
# One scheduler, kept by the directory (runtime/slot_scheduler.hpp), leases
# every node's slots to every consumer: studies' trials, jobs' workers, and
# the actors of kinds that take a slot (deployments' replicas).

struct SlotRef {
  # One slot of one node.
  node @0 :Text;
  index @1 :UInt32;
}

struct SlotWant {
  # A consumer tells the directory what it wants (lease_atom). While
  # `wants` is true it is granted one gang after another as slots free up,
  # each as a SlotLease sent to the actor that asked (grant_atom).
  consumer @0 :Text;     # unique name, e.g. "automl/STUDY"
  weight @1 :Float64;    # fair-share weight (> 0)
  priority @2 :Int32;    # higher is served first
  preemptible @3 :Bool;  # its leases may be taken back (preempt_atom)
  size @4 :UInt32;       # slots per gang (0 is taken as 1)
  placement @5 :Placement;
  node @6 :Text;         # the only node its gangs may use; empty: any
  wants @7 :Bool;        # false: no more gangs (a pending one is dropped)
  leave @8 :Bool;        # the consumer is done: its leases are freed
  minSize @9 :UInt32;    # elastic gangs: as many slots as fit, at least
                         # this many, when `size` do not (0: size)
  keepsSurvivors @10 :Bool;
                         # its gangs outlive a lost node: that node's slots
                         # leave the lease, the others stay leased (false:
                         # the lease is lost whole)
  enum Placement {
    any @0;     # one slot at a time from the node with the most free
    pack @1;    # all on one node
    spread @2;  # each on a different node
  }
}

struct SlotLease {
  # Slots granted together; a release names `id`.
  consumer @0 :Text;
  id @1 :UInt64;
  slots @2 :List(SlotRef);
}

struct SlotHolder {
  # One slot and who holds it (consumer empty: free).
  node @0 :Text;
  index @1 :UInt32;
  consumer @2 :Text;
  lease @3 :UInt64;
}

struct DirectoryEvent {
  # One change of the directory, streamed to watchers.
  kind @0 :Kind;         # what happened
  node @1 :NodeInfo;     # the node concerned (node events)
  actor @2 :ActorInfo;   # the actor concerned (actor events)
  reason @3 :Text;       # why (e.g. "connection lost", "heartbeat timeout")
  atMs @4 :Int64;        # wall-clock ms of the change
  enum Kind {
    nodeJoined @0;       # a node joined
    nodeLeft @1;         # a node left or was removed
    actorRegistered @2;  # an actor was registered
    actorRemoved @3;     # an actor stopped or its node left
  }
}

interface Watcher {
  # Implemented by RPC clients that want directory changes pushed to them.
  event @0 (event :DirectoryEvent) -> ();  # one change
}

interface Cluster {
  # The head's RPC gateway. Errors come back as exceptions with clear messages.
  nodes @0 () -> (nodes :List(NodeInfo));     # live nodes
  actors @1 () -> (actors :List(ActorInfo));  # registered actors
  spawn @2 (kind :Text, node :Text, config :Text, name :Text)
      -> (actors :List(ActorInfo));
  # Spawns `kind` on `node`: a node name, "any" or "" (a node with a free
  # slot), "head", or "every" (one on each node).
  send @3 (actor :Text, op :Text, payload :Common.Envelope)
      -> (reply :Common.Envelope);
  # Sends (op, payload) to a registered actor and returns its reply; op
  # defaults to "call".
  stats @4 (target :Text) -> (stats :List(ActorStats));
  # Counters of an actor, of a node's agent, or of every node ("").
  stop @5 (actor :Text) -> ();               # stops a registered actor
  shutdown @6 () -> ();                      # stops every node, then the head
  watch @7 (watcher :Watcher) -> (snapshot :Snapshot);
  # Returns the directory now and pushes every later change to `watcher`
  # until it fails to answer.
  kinds @8 () -> (kinds :List(Text));        # actor kinds that can be spawned
  ping @9 () -> ();                          # a trivial round trip to the head
  service @10 (name :Text) -> (service :Capability);
  # Another RPC interface the head serves, by name: "features" is a
  # FeatureStore. Unknown names fail with the list of known ones.
  slots @11 () -> (slots :List(SlotHolder));
  # Every slot of every node and who holds it (the scheduler's leases).
  datasetOffer @12 (dataset :Datasets.DatasetRef) -> (held :Bool);
  # A client offers a file to the head's dataset cache (dataset_cache.hpp):
  # held is true when the cache has those bytes already (nothing to send).
  datasetChunk @13 (chunk :Datasets.DatasetChunk) -> (held :Bool);
  # One chunk of an offered file. A chunk whose checksum does not match is
  # refused with an error naming it (send it again); held is true once the
  # last chunk completed the file and its SHA-256 matched.
}
