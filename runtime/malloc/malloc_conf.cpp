// jemalloc's start-up options for every troupe program (linked into each
// executable through troupe_malloc; jemalloc reads `malloc_conf` before the
// first allocation, and MALLOC_CONF in the environment still overrides it).
//
// thp:always: jemalloc asks for transparent huge pages (MADV_HUGEPAGE) on
// the memory it maps. On a VM with nested paging every first touch of a 4
// KiB page is a fault and every TLB miss a walk through two page tables:
// measured on this project's 2-core VM, zeroing a fresh 11 MiB buffer took
// 35-40 ms with 4 KiB pages and 1 ms with huge pages; a data-parallel
// XGBoost worker went from placement to its first round in 83 ms instead
// of 250 ms (200,000 x 28 rows, bench_xgb_parallel), the rows' buffers and
// XGBoost's DMatrix being fresh memory.

// Compiled only into programs that link jemalloc (CMakeLists.txt).
extern "C" {
// NOLINTNEXTLINE: the name jemalloc looks for
const char* malloc_conf = "thp:always";
}
