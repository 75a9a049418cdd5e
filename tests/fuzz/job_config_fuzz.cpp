// Fuzz target: the training job's config reader (actors/training/
// job_config.hpp), fed arbitrary text as a user's job.toml. Besides what
// ASan and UBSan catch, it checks that a refusal names the file, and that
// a config accepted once is accepted the same way again (the reader keeps
// no state between calls).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "actors/training/job_config.hpp"
#include "runtime/errors.hpp"

using namespace troupe;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "job_config_fuzz: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = training::parse_job_config(text, "/fuzz/job.toml");
  if (!cfg) {
    if (describe(cfg.error()).find("job.toml") == std::string::npos)
      broken("a refusal that does not name the file");
    return 0;
  }
  auto again = training::parse_job_config(text, "/fuzz/job.toml");
  if (!again) broken("a config accepted once is refused the second time");
  if (again->family != cfg->family || again->workers != cfg->workers ||
      again->min_workers != cfg->min_workers)
    broken("the same text read two ways");
  return 0;
}
