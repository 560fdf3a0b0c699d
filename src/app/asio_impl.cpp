// Asio and Beast are built with separate compilation (BOOST_*_SEPARATE_COMPILATION): their
// non-template code compiles once here instead of in every translation unit.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
