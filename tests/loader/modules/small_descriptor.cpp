// A descriptor whose struct_size is smaller than what ABI 1 needs.
#include <passerelle/abi.h>

static pl_module_descriptor descriptor = [] {
    pl_module_descriptor d{};
    d.struct_size = 16;
    d.abi_major = PL_ABI_MAJOR;
    d.name = "small";
    return d;
}();

extern "C" PL_EXPORT const pl_module_descriptor* passerelle_module_v1(void) { return &descriptor; }
