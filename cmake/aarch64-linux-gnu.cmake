# Cross-compiling for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu; tests run under
# qemu-user (Debian's qemu-user) with the target's libraries from its sysroot. Used by
# .ci/aarch64:
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DSTEEPEST_BUILD_PYTHON=OFF -DSTEEPEST_BUILD_TESTS=ON
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(STEEPEST_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "The target's libraries, for qemu")
set(CMAKE_FIND_ROOT_PATH ${STEEPEST_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# CTest runs the target's executables through this.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${STEEPEST_AARCH64_SYSROOT})
