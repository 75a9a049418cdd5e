#pragma once

// The C interface of the NAS plugin, libtroupe_nas.so: the LibTorch side of
// neural architecture search (networks, supernet slicing, training steps,
// TorchScript export). plugin.cpp dlopen()s it and resolves these symbols;
// torch_abi.cpp defines them. LibTorch stays out of the troupe binary (it
// adds ~0.7 s to every process start), as for libtroupe_torch.so.
//
// A network is built from a layout (space.hpp's layout_json). A supernet is
// the network of a space's largest layout; `active` names a sub-network of
// it (another layout whose every dimension is at most the network's): its
// convolutions use the first channels and the centre kxk of the kernels,
// its stages the first blocks. A null or empty `active` means the whole
// network. Inputs are rows of image x image pixels, 0..255, as floats;
// outputs are logits, one per class. Nothing throws across this boundary:
// a function that fails returns null or -1 and writes a NUL-terminated
// message to `err` (err_size bytes).

#include <cstddef>
#include <cstdint>

extern "C" {

/// The interface version; plugin.cpp refuses a plugin with another.
#define TROUPE_NAS_ABI_VERSION 1

/// Returns TROUPE_NAS_ABI_VERSION.
int troupe_nas_abi_version(void);

/// Sets LibTorch's intra-op threads for the process.
void troupe_nas_set_threads(int threads);

/// A network of `layout`, weights drawn from `seed` (Kaiming-normal
/// convolutions, unit batch-norm scales, zero shifts), trained by Adam.
void* troupe_nas_net_new(const char* layout, uint64_t seed, char* err,
                         size_t err_size);

/// Frees a network.
void troupe_nas_net_free(void* net);

/// A new standalone network whose layout is `active`, its weights (and
/// batch-norm statistics) copies of the slices `active` uses in `net`.
void* troupe_nas_net_extract(void* net, const char* active, char* err,
                             size_t err_size);

/// One Adam step at learning rate `lr` on a batch (cross-entropy of the
/// sub-network `active`), batch norm on the batch's statistics. A
/// standalone network (active null) updates its running statistics too.
/// The batch's mean loss goes to *loss.
int troupe_nas_net_train_step(void* net, const char* active, const float* x,
                              const int64_t* y, size_t rows, double lr,
                              double* loss, char* err, size_t err_size);

/// Logits (rows x classes, to `out`) of `active` without gradients; batch
/// norm on the rows' own statistics when `batch_stats` (how a supernet's
/// sub-network is scored), on the running statistics otherwise.
int troupe_nas_net_forward(void* net, const char* active, const float* x,
                           size_t rows, int batch_stats, float* out, char* err,
                           size_t err_size);

/// Re-estimates the batch-norm running statistics of a whole network as the
/// average over batches of `batch` rows of `x` (no other weight changes).
int troupe_nas_net_calibrate(void* net, const float* x, size_t rows,
                             size_t batch, char* err, size_t err_size);

/// The number of parameters `active` uses (*count) and, when `out` is not
/// null and holds out_size >= *count floats, their values: each parameter's
/// slice flattened, in the network's order.
int troupe_nas_net_weights(void* net, const char* active, float* out,
                           size_t out_size, size_t* count, char* err,
                           size_t err_size);

/// Saves a whole network as a TorchScript module whose forward(x) takes a
/// [rows, image x image] float tensor of pixels 0..255 and gives [rows,
/// classes] logits, batch norm on the running statistics.
int troupe_nas_net_save(void* net, const char* path, char* err,
                        size_t err_size);

} // extern "C"
