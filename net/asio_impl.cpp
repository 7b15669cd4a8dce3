// The one compiled copy of Asio's, Asio SSL's and Beast's non-template code: net builds
// with BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION, so the Beast
// translation units skip it and recompile faster.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
