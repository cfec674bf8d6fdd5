// The main of every test binary: the BLAS kernel first (engine/train/blas_kernel.hpp), as in the
// project's own binaries, so that tests train with the kernel users get.
#include <gtest/gtest.h>

#include "engine/train/blas_kernel.hpp"

int main(int argc, char** argv) {
  dipaco::engine::select_blas_kernel(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
