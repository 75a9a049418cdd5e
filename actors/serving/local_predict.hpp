#pragma once

// `troupe predict --model DIR`: predictions of a saved model for a CSV file,
// in this process.

#include <iosfwd>
#include <string>

namespace troupe::serving {

/// What `troupe predict` is asked to do.
struct predict_options {
  /// A model directory written by save_model (`--model`).
  std::string model_dir;
  /// The CSV file to predict (`--data`).
  std::string data_path;
  /// Where the predictions go as CSV (`--out`); empty for stdout.
  std::string out_path;
};

/// `troupe predict`: loads the model, reads the CSV, predicts every row and
/// writes the predictions (see prediction_table) to `out_path` (replaced
/// whole: written next to it, then renamed) or to `out`. Warnings go to
/// `err` as "troupe predict: warning: ...". Returns 0, or 1 after writing
/// "troupe predict: <what went wrong>" to `err`.
int run_predict(const predict_options& opts, std::ostream& out,
                std::ostream& err);

/// run_predict on std::cout and std::cerr.
int run_predict(const predict_options& opts);

} // namespace troupe::serving
