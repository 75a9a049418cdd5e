#pragma once

// A model loaded for prediction: an XGBoost booster (a `troupe automl` model
// directory or a bare .json/.ubj file), a TorchScript module, or a sparse
// logistic regression (a `troupe train` sparse-lr job's directory), with the
// preprocessing that turns raw cells into the float rows it takes. Plain C++,
// no CAF actors; errors are caf::expected values whose messages name the
// artifact, the row and the feature.
//
// Every format carries the same feature spec: the automl preprocessor's JSON
// (preprocessor::to_json: target, task, classes, features with their kinds
// and categories). A troupe model directory holds it as preprocessor.json;
// for an XGBoost or TorchScript file it is a separate spec file.
//
// LibTorch is not linked into the troupe binary (it adds ~0.7 s to every
// process start): TorchScript models run in the plugin libtroupe_torch.so
// (torch_servable.cpp, the only translation unit that includes torch
// headers), which load() dlopen()s the first time a TorchScript model is
// loaded. It is looked up in $TROUPE_TORCH_PLUGIN (a file), then next to the
// running executable, then in the build tree it was built in.

#include <cstddef>
#include <cstdint>

// -- the TorchScript plugin's C interface ------------------------------------
// Shared by servable.cpp (the caller, through dlsym) and torch_servable.cpp
// (the plugin, which defines TROUPE_TORCH_PLUGIN_ABI_ONLY to see only this
// part). Messages are written, NUL-terminated, into `err` (err_size bytes).

extern "C" {

/// The interface version; servable.cpp refuses a plugin with another.
/// 2: the MLP functions (troupe_torch_mlp_*).
/// 3: data-parallel MLPs (troupe_torch_store_*, _group_*, _mlp_fit_group).
/// 4: a user's TorchScript module as a replica (troupe_torch_script_create).
/// 5: _mlp_fit_group times its steps' phases (`seconds`).
/// 6: pipeline stages (troupe_torch_stage_*), tensor-parallel nets
/// (troupe_torch_tp_*).
/// 7: GraphSAGE replicas (troupe_torch_sage_*).
#define TROUPE_TORCH_ABI_VERSION 7

/// Returns TROUPE_TORCH_ABI_VERSION.
int troupe_torch_abi_version(void);

/// Loads a TorchScript file for inference, forward() to use `threads`
/// intra-op threads; null (and a message) on failure.
void* troupe_torch_load(const char* path, int threads, char* err,
                        size_t err_size);

/// Frees what troupe_torch_load returned.
void troupe_torch_free(void* model);

/// Runs forward() on a rows x cols float32 tensor (the data is copied). The
/// output's shape goes to shape[0..*ndim) (at most 8 dimensions); its values,
/// as float32, are copied to `out` when they fit in out_size floats. Returns
/// 0, or -1 after writing the reason to `err`.
int troupe_torch_forward(void* model, const float* x, size_t rows, size_t cols,
                         float* out, size_t out_size, int64_t* shape,
                         size_t* ndim, char* err, size_t err_size);

/// Writes a TorchScript module whose forward(x) is x @ W^T + b (W: outputs x
/// inputs, row-major), then `activation` ("", "sigmoid" or "softmax" over
/// the last dimension), squeezed to [rows] when `squeeze` and outputs == 1.
/// For tests and examples. Returns 0, or -1 with the reason in `err`.
int troupe_torch_write_linear(const char* path, const float* w, size_t outputs,
                              size_t inputs, const float* b,
                              const char* activation, int squeeze, char* err,
                              size_t err_size);

// -- the "mlp" estimator family (mlp_family.cpp calls, torch_mlp.cpp
// defines): a feed-forward net trained an epoch at a time. Every function
// that can fail returns 0 (or a handle), or -1 (or null) with the reason in
// `err`.

/// An MLP's hyperparameters; mlp_family.cpp checks them before create.
typedef struct troupe_torch_mlp_params {
  int32_t layers;      ///< hidden layers, >= 1
  int32_t width;       ///< units per hidden layer, >= 1
  int32_t activation;  ///< 0 relu, 1 gelu, 2 tanh
  int32_t batch_size;  ///< rows per optimizer step, >= 1
  double dropout;      ///< after each hidden layer, in [0, 1)
  double lr;           ///< AdamW's learning rate, > 0
  double weight_decay; ///< AdamW's decoupled weight decay, >= 0
  /// A small CNN before the hidden layers: conv_layers (0..4; 0: none)
  /// blocks of a 3x3 convolution (padding 1) of conv[i] channels, the
  /// activation and a 2x2 max-pool, over the inputs read as one-channel
  /// image_side x image_side images (inputs = image_side^2).
  int32_t conv_layers;
  int32_t conv[4];
  int32_t image_side;
  /// 1: the hidden layers' activations are recomputed in the backward pass
  /// (checkpointed segments, cut automatically); 0: kept. Training only.
  int32_t recompute;
} troupe_torch_mlp_params;

/// What an MLP is: its shape, task, seed and epochs trained.
typedef struct troupe_torch_mlp_info {
  troupe_torch_mlp_params params;
  uint64_t inputs;  ///< input columns
  uint64_t outputs; ///< scores per row: 1, or the classes (multiclass)
  int32_t task;     ///< 0 binary, 1 multiclass, 2 regression
  uint64_t seed;
  uint64_t epochs; ///< epochs trained
  /// A module replica's loss as resolved (a method or a built-in); empty
  /// for troupe's MLP.
  char loss[64];
} troupe_torch_mlp_info;

/// A fresh MLP with weights drawn from `seed`: `inputs` columns in, for
/// `task` (0 binary, 1 multiclass with `classes` classes, 2 regression).
void* troupe_torch_mlp_create(const troupe_torch_mlp_params* params,
                              size_t inputs, size_t classes, int task,
                              uint64_t seed, char* err, size_t err_size);

/// Trains one epoch on rows x cols features `x` (row-major, no NaN) and
/// their labels `y` (class indices or values), in mini-batches shuffled by
/// the seed and the epoch number, with `threads` intra-op threads. The
/// first epoch of a fresh MLP learns the input (and regression target)
/// scaling from `x` and `y`.
int troupe_torch_mlp_fit_epoch(void* mlp, const float* x, const float* y,
                               size_t rows, size_t cols, int threads, char* err,
                               size_t err_size);

/// Scores rows x cols features into `out` (rows x outputs floats, which
/// out_size must hold): P(class 1), class probabilities, or values.
int troupe_torch_mlp_predict(const void* mlp, const float* x, size_t rows,
                             size_t cols, int threads, float* out,
                             size_t out_size, char* err, size_t err_size);

/// Fills `info`.
void troupe_torch_mlp_describe(const void* mlp, troupe_torch_mlp_info* info);

/// Serializes the MLP (parameters, weights, scaling, AdamW's state, the
/// epoch) by calls of write(sink, data, size).
int troupe_torch_mlp_save(const void* mlp, void* sink,
                          void (*write)(void* sink, const void* data,
                                        size_t size),
                          char* err, size_t err_size);

/// An MLP from troupe_torch_mlp_save's bytes, ready to predict and to train
/// on where it stopped.
void* troupe_torch_mlp_load(const void* bytes, size_t size, char* err,
                            size_t err_size);

/// Writes the trained net as a TorchScript module for troupe_torch_load:
/// forward() takes raw [rows, inputs] float32 rows (the input scaling, and
/// a regression target's, are folded into the weights) and gives [rows]
/// P(class 1), [rows, K] class probabilities or [rows] values.
int troupe_torch_mlp_export(const void* mlp, const char* path, char* err,
                            size_t err_size);

/// Frees what troupe_torch_mlp_create or _load returned.
void troupe_torch_mlp_free(void* mlp);

// -- data-parallel MLPs (torch_parallel.cpp): a job's coordinator serves a
// rendezvous store; each worker joins a process group (c10d's gloo backend)
// through it and trains its replica on its own rows, the gradients averaged
// every step.

/// Serves c10d's TCPStore on host:0 for a group of `world` workers; sets
/// *port to the port taken. Null (and a message) on failure.
void* troupe_torch_store_serve(const char* host, int world, double timeout_s,
                               uint16_t* port, char* err, size_t err_size);

/// Stops a store troupe_torch_store_serve started.
void troupe_torch_store_free(void* store);

/// Joins process group `prefix` (a job's placement) of `world` workers as
/// `rank`: rendezvous at the store on store_host:store_port, gloo's links
/// over this worker's address `self_host`. Waits up to timeout_s for the
/// others. Null (and a message) on failure.
void* troupe_torch_group_join(const char* store_host, uint16_t store_port,
                              const char* prefix, int rank, int world,
                              const char* self_host, double timeout_s,
                              char* err, size_t err_size);

/// Leaves a group.
void troupe_torch_group_free(void* group);

/// Copies every parameter of `mlp`, flattened in the order of the net's
/// parameters(), into `out` (out_size floats; *count is set to how many
/// there are, also when out is too small, then -1).
int troupe_torch_mlp_weights(const void* mlp, float* out, size_t out_size,
                             size_t* count, char* err, size_t err_size);

/// Trains `mlp` for `steps` steps of one epoch, data-parallel: each step
/// takes this worker's next `local_batch` rows of x/y (rows x cols; with
/// `shuffle`, in an order drawn from the seed, the epoch and the rank) and
/// weighs its loss by local_batch / global_batch (the group's rows per
/// step), so that the gradients summed over the group are those of the
/// global batch's mean loss. Gradients travel in buckets of about
/// `bucket_bytes`, each allreduced as soon as backward has produced it,
/// while backward goes on. The first epoch of a fresh MLP learns the input
/// (and regression target) scaling from every worker's rows together.
/// `group` null: one process, as if alone in a group of one. `seconds`
/// (3 doubles, or null) gets the epoch's time by phase: gathering the
/// batches (and learning the scaling), computing (forward, backward, the
/// optimizer), and waiting for the group (the allreduce backward did not
/// hide, the loss's sum).
int troupe_torch_mlp_fit_group(void* mlp, void* group, const float* x,
                               const float* y, size_t rows, size_t cols,
                               size_t local_batch, size_t global_batch,
                               size_t steps, int shuffle, size_t bucket_bytes,
                               int threads, double* loss, double* seconds,
                               char* err, size_t err_size);

/// A replica of a user's TorchScript module (torch_script.cpp): `module`
/// holds torch.jit.save's bytes; forward() takes [rows, inputs] float32
/// rows. `loss` names a method of the module, loss(output, target) -> the
/// batch's mean, or a built-in (cross_entropy, bce, mse, huber, l1); empty:
/// the module's `loss` method, else the task's built-in. AdamW (lr,
/// weight_decay) trains its parameters. The handle is an MLP's: the
/// troupe_torch_mlp_* functions above train it data-parallel
/// (_fit_group), score (_predict: forward's output as scores), save, load,
/// export (the module itself) and free it; _fit_epoch refuses it.
void* troupe_torch_script_create(const void* module, size_t size,
                                 const char* loss, double lr,
                                 double weight_decay, size_t inputs,
                                 size_t classes, int task, uint64_t seed,
                                 char* err, size_t err_size);

// -- pipeline stages (torch_stage.cpp): stage `stage` of `stages` of a
// sequential MLP (hidden blocks of Linear + activation, then a Linear
// head: layers + 1 chain layers, cut before each of `starts`), trained by
// the GPipe or 1F1B schedule over micro-batches whose activations and
// gradients the caller carries between stages (links). Each layer is
// initialised from the seed and its index alone, so every stage builds
// only its own layers and a pipeline of any cut starts from the same net.

typedef struct troupe_torch_stage_params {
  int32_t inputs;  /* the first stage's columns */
  int32_t outputs; /* logits: classes, or 1 (binary, regression) */
  int32_t layers;  /* hidden blocks (the head is layer `layers`) */
  int32_t width;
  int32_t activation; /* 0 relu, 1 gelu, 2 tanh */
  int32_t task;       /* 0 binary, 1 multiclass, 2 regression */
  int32_t stage;
  int32_t stages;
  int32_t begin; /* this stage's chain layers: [begin, end) */
  int32_t end;
  int32_t micro;     /* micro-batches per minibatch */
  int32_t schedule;  /* 0 GPipe, 1 1F1B */
  int32_t recompute; /* activations recomputed in the backward pass */
  int32_t threads;
  double lr; /* AdamW */
  double weight_decay;
  uint64_t seed;
  const float* center; /* the first stage: inputs standardised with these */
  const float* scale;  /* (inputs floats each; null: as they are) */
} troupe_torch_stage_params;

/// How a stage's tensors reach its neighbours: receive() points *data at
/// the float32 values of micro-batch `micro`'s activations (kind 0, from
/// the stage before) or gradient (kind 1, from the stage after), of shape
/// shape[0..ndim), valid until the next receive(); send() passes its own
/// (kind 0 to the stage after, kind 1 to the stage before). Both return 0,
/// or write a message into err and return -1.
typedef struct troupe_torch_stage_links {
  void* ctx;
  int (*receive)(void* ctx, int kind, uint32_t micro, const float** data,
                 const int64_t** shape, int* ndim, char* err, size_t err_size);
  int (*send)(void* ctx, int kind, uint32_t micro, const float* data,
              const int64_t* shape, int ndim, char* err, size_t err_size);
} troupe_torch_stage_links;

/// A stage's layers and its AdamW. Null (and a message) on failure.
void* troupe_torch_stage_create(const troupe_torch_stage_params* params,
                                char* err, size_t err_size);

/// One minibatch of `rows` rows: the first stage reads x (rows x inputs),
/// the last y (rows: class indices or values); every stage runs its plan
/// over the links, then steps its optimizer. The last stage sets *loss
/// (the minibatch's mean); seconds (2 doubles, or null) gets the time
/// spent computing and the time waiting for the links.
int troupe_torch_stage_step(void* stage, const float* x, const float* y,
                            size_t rows, const troupe_torch_stage_links* links,
                            double* loss, double* seconds, char* err,
                            size_t err_size);

/// A forward pass of `rows` rows without gradients, in micro-batches: the
/// first stage reads x; the last writes its outputs (rows x outputs:
/// P(class 1), class probabilities or values) into out.
int troupe_torch_stage_forward(void* stage, const float* x, size_t rows,
                               const troupe_torch_stage_links* links,
                               float* out, char* err, size_t err_size);

/// Serializes the stage's weights and AdamW's state by write() calls.
int troupe_torch_stage_save(const void* stage, void* sink,
                            void (*write)(void* sink, const void* data,
                                          size_t size),
                            char* err, size_t err_size);

/// Restores what troupe_torch_stage_save wrote for the same stage.
int troupe_torch_stage_load(void* stage, const void* bytes, size_t size,
                            char* err, size_t err_size);

/// Frees what troupe_torch_stage_create returned.
void troupe_torch_stage_free(void* stage);

// -- tensor-parallel nets (torch_tp.cpp): a classifier whose layers are
// split over the workers of a group (troupe_torch_group_join): a
// column-parallel input layer (gathered), `blocks` residual MLP blocks
// (column- then row-parallel), and a classification layer split by classes
// whose softmax cross-entropy never gathers the logits. Every worker runs
// the same rows. Each row of each layer is drawn from the seed and its
// index alone, so a net split over any number of workers starts as the
// same net.

typedef struct troupe_torch_tp_params {
  int32_t inputs;
  int32_t classes;
  int32_t width;  /* the blocks' input and output */
  int32_t hidden; /* the blocks' inner width (split) */
  int32_t blocks;
  int32_t threads;
  double lr; /* AdamW */
  double weight_decay;
  uint64_t seed;
  const float* center; /* inputs standardised with these (null: as they are) */
  const float* scale;
} troupe_torch_tp_params;

/// This worker's part of the net, in `group`. Null (and a message) on
/// failure.
void* troupe_torch_tp_create(const troupe_torch_tp_params* params, void* group,
                             char* err, size_t err_size);

/// One epoch of `steps` minibatches of `batch` rows of x (rows x inputs)
/// and y (class indices), in the order drawn from `order_seed` (the same
/// on every worker). *loss: the epoch's mean.
int troupe_torch_tp_fit_epoch(void* net, const float* x, const float* y,
                              size_t rows, size_t batch, size_t steps,
                              uint64_t order_seed, double* loss, char* err,
                              size_t err_size);

/// The mean cross-entropy and the accuracy of the net on x, y (every
/// worker calls it with the same rows).
int troupe_torch_tp_evaluate(void* net, const float* x, const float* y,
                             size_t rows, double* logloss, double* accuracy,
                             char* err, size_t err_size);

/// This worker's part (weights and AdamW's state) by write() calls.
int troupe_torch_tp_save(const void* net, void* sink,
                         void (*write)(void* sink, const void* data,
                                       size_t size),
                         char* err, size_t err_size);

/// Restores what troupe_torch_tp_save wrote for the same rank and world.
int troupe_torch_tp_load(void* net, const void* bytes, size_t size, char* err,
                         size_t err_size);

/// The bytes of this worker's parameters.
size_t troupe_torch_tp_parameter_bytes(const void* net);

/// Frees what troupe_torch_tp_create returned (not the group).
void troupe_torch_tp_free(void* net);

// -- GraphSAGE (torch_sage_abi.cpp): a replica of torch_sage.hpp's net
// (two mean-aggregator layers) trained data-parallel in a group
// (troupe_torch_group_join; or alone) on minibatches the caller samples
// (graph shard actors answer them) through a callback. Replicas created
// with the same seed start equal, and the group's summed gradients keep
// them equal.

typedef struct troupe_torch_sage_params {
  int32_t inputs; /* feature columns */
  int32_t hidden;
  int32_t classes;
  int32_t threads;
  double lr; /* AdamW */
  double weight_decay;
  uint64_t seed;
} troupe_torch_sage_params;

/// A minibatch as the sampler hands it over, valid until its next call:
/// the seeds' two hops, every node a row of x (hop h: frontier_size[h]
/// rows frontier[h]; offsets[h], frontier_size[h] + 1 entries, cut
/// neighbours[h] into each frontier row's sampled neighbours), x the rows'
/// features (rows x dims float32) and labels their classes.
typedef struct troupe_torch_sage_batch {
  const uint32_t* frontier[2];
  size_t frontier_size[2];
  const uint64_t* offsets[2];
  const uint32_t* neighbours[2];
  const float* x;
  const uint32_t* labels;
  size_t rows;
  size_t dims;
} troupe_torch_sage_batch;

/// sample() fills *out with the minibatch of `count` seeds (global node
/// IDs) sampled with seed `round`; 0, or -1 after writing a message.
typedef struct troupe_torch_sage_sampler {
  void* ctx;
  int (*sample)(void* ctx, const uint32_t* seeds, size_t count, uint64_t round,
                troupe_torch_sage_batch* out, char* err, size_t err_size);
} troupe_torch_sage_sampler;

/// A replica in `group` (null: alone). Null (and a message) on failure.
void* troupe_torch_sage_create(const troupe_torch_sage_params* params,
                               void* group, char* err, size_t err_size);

/// One epoch over `count` training nodes in minibatches of `batch` seeds
/// (this replica samples its share of each), in the order drawn from
/// `order_seed` (torch_sage.hpp's sage_epoch). *loss: the epoch's mean;
/// seconds (3 doubles, or null) gets the time spent sampling, computing
/// and all-reducing.
int troupe_torch_sage_fit_epoch(void* net, const uint32_t* train, size_t count,
                                uint32_t batch, uint64_t order_seed,
                                const troupe_torch_sage_sampler* sampler,
                                double* loss, double* seconds, char* err,
                                size_t err_size);

/// The mean cross-entropy and the accuracy of `count` nodes.
int troupe_torch_sage_evaluate(void* net, const uint32_t* nodes, size_t count,
                               uint32_t batch,
                               const troupe_torch_sage_sampler* sampler,
                               double* logloss, double* accuracy, char* err,
                               size_t err_size);

/// The replica's weights and AdamW's state by write() calls.
int troupe_torch_sage_save(const void* net, void* sink,
                           void (*write)(void* sink, const void* data,
                                         size_t size),
                           char* err, size_t err_size);

/// Restores what troupe_torch_sage_save wrote for a net of the same shape.
int troupe_torch_sage_load(void* net, const void* bytes, size_t size, char* err,
                           size_t err_size);

/// Frees what troupe_torch_sage_create returned (not the group).
void troupe_torch_sage_free(void* net);

} // extern "C"

#ifndef TROUPE_TORCH_PLUGIN_ABI_ONLY

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/tabular/dataset.hpp"

namespace troupe::models {

/// What kind of artifact holds a model.
enum class model_format {
  troupe,      ///< a model directory saved by `troupe automl`
  xgboost,     ///< an XGBoost model file (.json or .ubj) plus a spec file
  torchscript, ///< a TorchScript file (.pt) plus a spec file
};

/// "troupe", "xgboost" or "torchscript".
std::string to_string(model_format x);

/// Parses the names to_string gives; the error lists them.
caf::expected<model_format> parse_model_format(const std::string& text);

/// One raw input value.
struct cell {
  enum class kind { missing, number, text };
  kind k = kind::missing;
  double number = 0; ///< kind::number's value
  std::string text;  ///< kind::text's value

  static cell none() { return {}; }
  static cell of(double x) { return {kind::number, x, {}}; }
  static cell of(std::string s) { return {kind::text, 0, std::move(s)}; }
};

/// Turns raw rows into the dense rows a model takes, the way the
/// preprocessor encodes a table:
/// - a numeric feature takes a number as it is and parses text (surrounding
///   spaces allowed); text that is not a number is an error;
/// - a categorical feature maps text to its code; a number is looked up in
///   its shortest round-trip text ("3", "2.5"); a category not seen in
///   training reads as missing (NaN) and is counted;
/// - a missing cell, and an empty text, read as NaN.
/// Columns are found by name; extra columns are ignored.
class row_encoder {
public:
  explicit row_encoder(const tabular::preprocessor& prep);

  /// Encodes `rows` (each with one cell per entry of `columns`) into
  /// rows.size() x features floats, row-major. Errors: a feature column
  /// missing from `columns` (naming it), a repeated column name, a row with
  /// the wrong number of cells, a bad cell ("row R: column 'c' ..."). Adds
  /// the number of unseen categories to `*unseen` when given.
  caf::expected<std::vector<float>>
  encode(const std::vector<std::string>& columns,
         const std::vector<std::vector<cell>>& rows,
         size_t* unseen = nullptr) const;

  size_t features() const { return features_.size(); }

private:
  std::vector<tabular::preprocessor::feature> features_;
  std::vector<std::unordered_map<std::string, float>> codes_;
};

/// row_encoder(prep).encode(columns, rows, unseen).
caf::expected<std::vector<float>> encode_rows(
    const tabular::preprocessor& prep, const std::vector<std::string>& columns,
    const std::vector<std::vector<cell>>& rows, size_t* unseen = nullptr);

/// Refuses NaN in `rows` x prep.features().size() floats: "row R: feature
/// 'name' is NaN, which this model does not allow" for the first one.
caf::error check_no_nan(const tabular::preprocessor& prep, const float* x,
                        size_t rows);

/// A row's decision, from its scores.
struct decision {
  /// The predicted class index; -1 for regression.
  int32_t label = -1;
  /// How sure the model is: binary, max(p, 1 - p) where p is the
  /// probability of class 1 (class 1 is chosen when p >= 0.5); multiclass,
  /// the largest probability (the first class on ties). Regression has no
  /// confidence: NaN.
  float confidence = 0;
  /// Binary: p; multiclass: the chosen class's probability; regression: the
  /// predicted value.
  float value = 0;
};

/// The decisions for `rows` rows of scores (rows x outputs, as predict
/// gives them) of a model of task `task` with `outputs` outputs per row.
std::vector<decision> decide(tabular::task_kind task, size_t outputs,
                             const float* scores, size_t rows);

/// How a model is loaded.
struct load_options {
  /// Threads one predict call may use (XGBoost nthread, torch intra-op
  /// threads). Replicas are parallel actors, so 1 is the default.
  size_t threads = 1;
  /// Whether NaN (a missing value) may reach the model; predict refuses it
  /// otherwise.
  bool allow_nan = true;
  /// Whether an XGBoost model is compiled into a forest (forest.hpp) when
  /// it can be and the forest predicts what XGBoost predicts on probe
  /// rows; XGBoost predicts otherwise.
  bool compile = true;
};

/// A model ready to predict.
///
/// Thread safety: predict() is const and may be called from several threads
/// at once, on one object or on different ones. XGBoost (>= 1.4) keeps its
/// prediction buffers per thread and the booster is configured at load;
/// TorchScript's interpreter runs forward() re-entrantly. The serving layer
/// still gives each replica its own object.
class servable {
public:
  virtual ~servable();

  /// Loads and checks a model: `artifact` is the model directory (troupe)
  /// or the model file; `spec` is the feature spec file (ignored for troupe,
  /// required otherwise). The checks: the files parse; the model's feature
  /// count equals the spec's; its outputs per row fit the task and the
  /// classes (an XGBoost multiclass model must use multi:softprob with as
  /// many classes, a binary one binary:logistic); a prediction on zero rows
  /// is finite. Errors name the artifact and what does not fit.
  ///
  /// A TorchScript module's forward() takes a [rows, features] float32
  /// tensor (run under InferenceMode, `opts.threads` intra-op threads) and
  /// gives, by the spec's task:
  /// - regression: [rows] or [rows, 1], the values;
  /// - binary: [rows] or [rows, 1], the probability of class 1 (a value
  ///   outside [0, 1] is an error: end forward() with a sigmoid), or
  ///   [rows, 2], two class scores read like multiclass ones;
  /// - multiclass: [rows, K], per row probabilities (each in [0, 1], summing
  ///   to 1 within 1e-3) kept as they are, or logits, softmaxed.
  /// The check at load runs forward() on two zero rows.
  static caf::expected<std::unique_ptr<servable>>
  load(model_format format, const std::string& artifact,
       const std::string& spec = {}, const load_options& opts = {});

  model_format format() const { return format_; }
  /// The artifact it was loaded from, for messages.
  const std::string& source() const { return source_; }
  const tabular::preprocessor& prep() const { return prep_; }
  const row_encoder& encoder() const { return encoder_; }
  size_t features() const { return prep_.features().size(); }
  tabular::task_kind task() const { return prep_.task(); }
  const std::vector<std::string>& classes() const { return prep_.classes(); }
  /// Scores per row: K for multiclass, 1 otherwise.
  size_t outputs() const;
  bool allow_nan() const { return allow_nan_; }
  /// What runs the model, for operators: "compiled forest (100 trees)",
  /// "XGBoost" with why it was not compiled, "TorchScript", or "sparse
  /// logistic regression (N weights)".
  virtual std::string predictor() const = 0;

  /// Scores for `rows` rows of features() floats each (row-major, NaN =
  /// missing): rows x outputs() values, the probability of class 1 (binary),
  /// each class's probability (multiclass) or the value (regression).
  /// Errors: NaN when the model allows none, a failure of the model.
  caf::expected<std::vector<float>> predict(const float* x, size_t rows) const;

  /// Encodes raw rows into features() floats each: encoder()'s encoding
  /// (the spec's), unless the model hashes its rows (a sparse model: each
  /// input column's summed weights). Errors as row_encoder::encode's.
  virtual caf::expected<std::vector<float>>
  encode(const std::vector<std::string>& columns,
         const std::vector<std::vector<cell>>& rows,
         size_t* unseen = nullptr) const;

  /// Rows given as features() numbers each, in the spec's feature order,
  /// as the model takes them: as they are, unless the model hashes its rows
  /// (then each number is its column's cell, encoded as encode() does).
  virtual caf::expected<std::vector<float>> encode_values(std::vector<float> x,
                                                          size_t rows) const;

  /// Encodes raw rows with encode() and predicts them.
  caf::expected<std::vector<float>>
  predict(const std::vector<std::string>& columns,
          const std::vector<std::vector<cell>>& rows) const;

protected:
  servable(model_format format, std::string source, tabular::preprocessor prep,
           bool allow_nan);

  /// Runs the model on rows > 0 checked rows; rows x outputs() scores.
  virtual caf::expected<std::vector<float>> run(const float* x,
                                                size_t rows) const = 0;

private:
  model_format format_;
  std::string source_;
  tabular::preprocessor prep_;
  row_encoder encoder_;
  bool allow_nan_;
};

/// Writes a TorchScript linear model (see troupe_torch_write_linear) through
/// the plugin; for tests and examples.
caf::error write_torch_linear(const std::string& path,
                              const std::vector<float>& w, size_t outputs,
                              const std::vector<float>& b,
                              const std::string& activation, bool squeeze);

} // namespace troupe::models

#endif // TROUPE_TORCH_PLUGIN_ABI_ONLY
