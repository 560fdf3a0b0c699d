// myriad-load: see README.md beside this file; the program lives in cli.cpp.
#include "loadgen/cli.hpp"

int main(int argc, char** argv) { return myriad::load::Main(argc, argv); }
