// bench_flood: a source module for the webhook benchmark. On start it
// publishes `count` numbered events (attrs.seq = 1..count, attrs.t_ns = the
// publish time in ns since the epoch, for the latency figure), at `rate`
// events per second (0 = as fast as publish() takes them).
#include <passerelle/module.hpp>

#include <chrono>
#include <string>

namespace {

using passerelle::key;

class Flood final : public passerelle::Instance {
public:
    static constexpr passerelle::ModuleInfo info{"bench_flood", "1.0.0", "Publishes N numbered events (benchmark)"};
    static constexpr pl_key_decl keys[] = {
        key("count", PL_KEY_INT, "10000", "How many events to publish"),
        key("rate", PL_KEY_INT, "0", "Events per second (0 = as fast as possible)"),
        key("start_delay", PL_KEY_DURATION, "500ms", "Wait before the first event"),
    };

    explicit Flood(const passerelle::Init& init)
        : Instance(init), count_(init.config.integer("count")), rate_(init.config.integer("rate")),
          delay_(init.config.duration("start_delay")) {}

    void on_start() override {
        running_ = true;
        timers().after(delay_, [this] {
            started_ = std::chrono::steady_clock::now();
            tick();
        });
    }
    void on_stop() override { running_ = false; }

private:
    void tick() {
        if (!running_) return;
        // Publish what the rate allows by now (everything when rate = 0), in slices
        // of at most 1000 so that stop stays responsive.
        int64_t due = count_;
        if (rate_ > 0) {
            auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_);
            due = std::min<int64_t>(count_, elapsed.count() * rate_ / 1'000'000 + 1);
        }
        int64_t slice = 0;
        while (sent_ < due && slice < 1000) {
            passerelle::Event e;
            e.type = "motion";
            e.code = "Bench";
            e.channel = 1;
            e.time_ns = now_ns();
            e.attrs["seq"] = std::to_string(++sent_);
            e.attrs["t_ns"] = std::to_string(e.time_ns);
            publish(e);
            ++slice;
        }
        if (sent_ < count_) timers().after(std::chrono::milliseconds(rate_ > 0 ? 1 : 0), [this] { tick(); });
    }

    int64_t count_, rate_;
    std::chrono::milliseconds delay_;
    std::chrono::steady_clock::time_point started_;
    int64_t sent_ = 0;
    bool running_ = false;
};

} // namespace

PL_DEFINE_MODULE(Flood)
