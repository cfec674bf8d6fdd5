#include "engine/allocator.hpp"

#include <malloc.h>

namespace dipaco::engine {

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // blocks under 1 GiB come from the heap, not fresh mappings
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and freed memory stays mapped for the next step
}

}  // namespace dipaco::engine
