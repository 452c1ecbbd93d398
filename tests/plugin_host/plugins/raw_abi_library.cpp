// A library that exports the entry-point names as plain functions instead of
// through BARID_PROVIDER_PLUGIN: read as aliases they would be taken for
// pointers. The loader must refuse it before touching them.
extern "C" __attribute__((visibility("default"))) unsigned barid_plugin_abi() { return 0x00010000u; }
extern "C" __attribute__((visibility("default"))) int barid_plugin_descriptor() { return 0; }
extern "C" __attribute__((visibility("default"))) int barid_plugin_create() { return 0; }
