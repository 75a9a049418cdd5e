#pragma once

// The searched network as `troupe serve` and `troupe predict` load it: a
// directory holding model.pt (TorchScript: forward takes [rows, 784] pixels
// 0..255 as floats and gives [rows, 10] logits) and spec.json (the feature
// spec in preprocessor.json's format: features pixel0..pixel783, numeric;
// target "label", multiclass, classes "0".."9" in Fashion-MNIST's order).
// Load it with `troupe serve --torchscript DIR/model.pt --spec
// DIR/spec.json` or models::servable::load(model_format::torchscript, ...).

#include <string>

#include <caf/error.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/nas/plugin.hpp"

namespace troupe::nas {

/// The feature spec of a network over `pixels` pixel features and
/// `classes` classes.
nlohmann::json feature_spec(size_t pixels, size_t classes);

/// Writes DIR/model.pt and DIR/spec.json (DIR is created), and checks the
/// spec parses as a preprocessor.
caf::error write_model_dir(const network& net, const std::string& dir);

} // namespace troupe::nas
