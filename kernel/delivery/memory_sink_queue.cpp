// The in-memory queue: the delivery engine without the disk. Used when no
// state_dir is writable, and by tests.
#include "delivery/delivery_engine.hpp"

namespace passerelle::kernel {

namespace {

uint64_t approximate_bytes(const Job& job) {
    uint64_t n = sizeof(Job) + job.action.size() + job.params_json.size();
    if (job.event) {
        const Event& e = *job.event;
        n += sizeof(Event) + e.source.size() + e.module.size() + e.type.size() + e.code.size() +
             e.attachment.size() + e.attachment_mime.size() + e.attachment_path.size();
        for (const auto& [k, v] : e.attrs) n += k.size() + v.size() + 32;
    }
    return n;
}

class MemorySinkQueue final : public SinkQueue {
public:
    MemorySinkQueue(SinkTarget& target, QueueOptions options) : engine_(target, std::move(options), nullptr) {}

    void push(Job job) override {
        QueuedJob q;
        q.bytes = approximate_bytes(job);
        q.enqueued_ms = now_ms_since_epoch();
        q.job = std::make_shared<const Job>(std::move(job));
        engine_.append(std::move(q));
    }
    SinkStats stats() const override { return engine_.stats(); }
    void close(std::chrono::milliseconds grace) override { engine_.close(grace); }

private:
    DeliveryEngine engine_;
};

} // namespace

std::unique_ptr<SinkQueue> make_memory_sink_queue(SinkTarget& target, QueueOptions options) {
    return std::make_unique<MemorySinkQueue>(target, std::move(options));
}

std::unique_ptr<SinkQueue> make_memory_sink_queue(SinkTarget& target) {
    return make_memory_sink_queue(target, QueueOptions{});
}

} // namespace passerelle::kernel
