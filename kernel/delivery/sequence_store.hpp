// Event ids: unique and increasing across restarts. Blocks of ids are
// reserved in <state_dir>/outbox.sqlite (table `sequence`) and the block end
// is committed before any id of it is handed out, so a crash skips at most the
// rest of a block and never reuses an id.
//
// The first id of a run is also at least the current Unix time in
// microseconds, so ids keep increasing when the database is lost, deleted or
// unwritable (then the store says so and works from the clock alone).
#pragma once

#include "delivery/outbox.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace passerelle::kernel {

class SequenceStore {
public:
    static std::unique_ptr<SequenceStore> open(const std::string& state_dir, DeliveryLog log = {},
                                               uint64_t block = 10000);
    ~SequenceStore();

    uint64_t next(); // thread-safe
    bool durable() const;

    struct Impl;
private:
    explicit SequenceStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace passerelle::kernel
