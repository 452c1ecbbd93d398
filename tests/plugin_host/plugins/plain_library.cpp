// A shared library that is not a Barid plugin: it exports no entry point.
extern "C" __attribute__((visibility("default"))) int barid_test_plain_library_answer() { return 42; }
