# The system's oneTBB stands in for vcpkg's tbb port (which downloads oneTBB's source): this port
# installs nothing, and find_package(TBB) finds the system's TBBConfig.cmake. For parex's offline tests.
set(VCPKG_POLICY_EMPTY_PACKAGE enabled)
