// doctest runner for every radmm test executable: prints the library versions first.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <Eigen/Core>
#include <boost/version.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  std::printf("radmm tests: Eigen %d.%d.%d, Boost %d.%d\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
              EIGEN_MINOR_VERSION, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
