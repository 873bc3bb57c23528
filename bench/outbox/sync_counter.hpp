// fsync/fdatasync calls SQLite makes in this process (bench only).
#pragma once

#include <cstdint>

namespace bench {

// Call before the first database is opened.
void install_sync_counter();
uint64_t syncs();

} // namespace bench
