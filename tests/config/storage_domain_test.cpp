#include "config/storage_domain.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include "config/errc.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::config {
namespace {

TEST(StorageDomainTest, TheFirstDomainIsRecordedAndAnotherRefused) {
  test::temp_dir dir{"storage-domain"};
  EXPECT_EQ(storage_domain(dir.path()), std::nullopt);
  EXPECT_FALSE(storage_fits_domain(dir.path(), "a.example"));  // nothing recorded yet
  ASSERT_FALSE(claim_storage_dir(dir.path(), "a.example"));
  EXPECT_EQ(storage_domain(dir.path()), "a.example");
  struct stat st {};
  ASSERT_EQ(::stat((dir / storage_domain_file).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(claim_storage_dir(dir.path(), "a.example"));
  EXPECT_FALSE(claim_storage_dir(dir.path(), "A.Example"));  // the same name
  EXPECT_FALSE(storage_fits_domain(dir.path(), ""));         // not fully set: nothing to hold
  auto other = claim_storage_dir(dir.path(), "b.example");
  EXPECT_EQ(other, caf::make_error(errc::invalid));
  EXPECT_NE(caf::to_string(other).find("holds the data of a.example, not of b.example"),
            std::string::npos)
      << caf::to_string(other);
  EXPECT_EQ(storage_domain(dir.path()), "a.example");  // unchanged
}

}  // namespace
}  // namespace fedrelay::config
