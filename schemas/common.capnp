@0xf88031cd766fad52;
# Types shared by every troupe service.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct Envelope {
  # One Cap'n Proto message as it crosses the RPC gateway: the same bytes a CAF
  # envelope carries between actors, so the gateway forwards them unchanged.
  typeId @0 :UInt64;  # the capnp type id of the root struct
  words @1 :Data;     # a flat message: segment table followed by the segments
}

struct KeyValue {
  # One label or setting.
  key @0 :Text;    # its name
  value @1 :Text;  # its value
}

struct TextMessage {
  # A payload of one string: what the shell's `send` builds from a line.
  text @0 :Text;  # the text
}

struct Failure {
  # An error carried as a value.
  category @0 :Text;  # the subsystem, e.g. "troupe" or "system"
  code @1 :UInt16;    # the code inside that category
  message @2 :Text;   # what went wrong, naming the input and the place
}
