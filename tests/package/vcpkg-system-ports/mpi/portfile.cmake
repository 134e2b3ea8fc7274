# The system's MPI stands in for vcpkg's mpi port (which builds Open MPI from a download): this port
# installs nothing, and find_package(MPI) finds the system's MPI. For parex's offline tests.
set(VCPKG_POLICY_EMPTY_PACKAGE enabled)
