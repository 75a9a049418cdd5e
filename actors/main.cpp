// The `troupe` executable: the list of actor families. Each family declares
// what it adds (kinds, head services, RPC interfaces, subcommands, shell
// commands) in its family.cpp; the runtime runs `troupe node`, `troupe shell`
// and the families' commands (runtime/family.hpp).

#include "actors/automl/family.hpp"
#include "actors/demo/family.hpp"
#include "actors/features/family.hpp"
#include "actors/nas/family.hpp"
#include "actors/serving/family.hpp"
#include "actors/training/family.hpp"
#include "actors/validation/family.hpp"
#include "runtime/family.hpp"

int main(int argc, char** argv) {
  return troupe::run_program(argc, argv,
                             {
                                 troupe::demo::declare_family(),
                                 troupe::automl::declare_family(),
                                 troupe::features::declare_family(),
                                 troupe::validation::declare_family(),
                                 troupe::serving::declare_family(),
                                 troupe::nas::declare_family(),
                                 troupe::training::declare_family(),
                             });
}
