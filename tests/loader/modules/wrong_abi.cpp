// A module built for a future ABI major: the loader must refuse it.
#include <passerelle/abi.h>

static pl_module_descriptor descriptor = [] {
    pl_module_descriptor d{};
    d.struct_size = sizeof(d);
    d.abi_major = 99;
    d.abi_minor = 3;
    d.name = "wrong_abi";
    d.version = "1.0.0";
    return d;
}();

extern "C" PL_EXPORT const pl_module_descriptor* passerelle_module_v1(void) { return &descriptor; }
