// A Job as one outbox row: a JSON text (the event with full-precision times,
// attrs, and the route's action/params) plus the attachment bytes kept apart
// as a BLOB (bytes never go through JSON).
#pragma once

#include <passerelle/utf8.hpp>

#include "delivery/sink_queue.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace passerelle::kernel {

// Strings that are not valid UTF-8 (device garbage) are written with U+FFFD
// in place of the bad bytes: a JSON reader would reject the row otherwise and
// the event would be lost at the next start.
std::string encode_job_json(const Job& job);

// Returns nullptr and sets `error` when the row cannot be read back.
std::shared_ptr<const Job> decode_job(std::string_view json, const void* attachment, size_t attachment_size,
                                      std::string& error);

// What the bounds count for one job: its JSON text, its attachment.
inline uint64_t job_bytes(size_t json_size, const Job& job) {
    return json_size + (job.event ? job.event->attachment.size() : 0);
}

using passerelle::is_valid_utf8;

} // namespace passerelle::kernel
