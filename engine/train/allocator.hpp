// Process-wide malloc tuning for training. Each step allocates and frees tensors of tens of MB
// (logits, their gradients); by default glibc serves those with mmap/munmap and trims freed heap
// tops, so every step pays page faults: on the quickstart, 24 s of 35 s went to the kernel.
#pragma once

namespace dipaco::engine {

// Keeps large freed blocks in the heap for reuse, in one arena shared by all threads. Call once,
// early, before threads start.
void keep_freed_memory_for_reuse();

}  // namespace dipaco::engine
