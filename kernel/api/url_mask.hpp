// Masks the API token in a request target before it is logged:
// "/api/v1/x?token=s3cret&a=1" -> "/api/v1/x?token=***&a=1".
// Every query parameter whose (percent-decoded) name is `token` is masked, so
// "%74oken=..." (which the server also accepts as the token) is masked too.
// The rest of the target is kept byte for byte.
#pragma once

#include <string>
#include <string_view>

namespace passerelle::kernel {

std::string mask_token_in_target(std::string_view target);

} // namespace passerelle::kernel
