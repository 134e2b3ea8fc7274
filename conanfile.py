import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load


class ParexConan(ConanFile):
    """parex as a Conan 2 header-library.

    oneTBB comes from ConanCenter (`onetbb`) or from the system: with the profile
    cmake/conan/system-onetbb, `[platform_requires] onetbb/2021.8.0` takes the system's oneTBB.
    Consumers get parex's own parexConfig.cmake (not a CMakeDeps-generated one): its
    find_dependency(TBB) is what links oneTBB to parex::parex, whichever oneTBB it is.
    """

    name = "parex"
    description = "Header-only C++20 parallel execution on oneTBB: chunked executor, shared-memory arena, worker pool"
    license = "MIT"
    topics = ("parallel", "onetbb", "map-reduce", "chunking", "shared-memory", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    # mpi=True installs parex::mpi (parexMpiTargets.cmake) too, for the system's MPI; the package id
    # keeps the option, so the two packages are distinct.
    options = {"mpi": [True, False]}
    default_options = {"mpi": False}
    exports_sources = "CMakeLists.txt", "LICENSE", "cmake/*.cmake", "cmake/*.in", "include/*"
    no_copy_source = True

    def set_version(self):
        cmakelists = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        self.version = re.search(r"project\(parex VERSION (\d+\.\d+\.\d+)", cmakelists).group(1)

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        self.requires("onetbb/[>=2021.5 <2023]")

    def validate(self):
        check_min_cppstd(self, 20)

    def package_id(self):
        # Header-only: one package for every setting and dependency version; only the mpi option differs.
        self.info.settings.clear()
        self.info.requires.clear()

    def generate(self):
        toolchain = CMakeToolchain(self)
        for option in ("TESTS", "BENCHMARKS", "EXAMPLES"):
            toolchain.cache_variables[f"PAREX_BUILD_{option}"] = False
        toolchain.cache_variables["PAREX_WARNINGS_AS_ERRORS"] = False
        toolchain.cache_variables["PAREX_MPI"] = "ON" if self.options.mpi else "OFF"
        toolchain.generate()
        CMakeDeps(self).generate()

    def build(self):
        CMake(self).configure()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()

    def package_info(self):
        # Consumers find parex through its installed config (share/cmake/parex under this folder,
        # which CMakeToolchain puts on CMAKE_PREFIX_PATH), so that find_dependency(TBB) runs.
        self.cpp_info.set_property("cmake_find_mode", "none")
        self.cpp_info.builddirs = [""]
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.system_libs = ["pthread"]
