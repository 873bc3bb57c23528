// hikvision: Hikvision ISAPI cameras, NVRs, intercoms and access terminals.
// This file is the declaration (keys and actions, the words of README.md) and
// the glue to the SDK; the device logic is in device.cpp, the stream session
// in alert_stream.cpp, the pure parsers in multipart / notification /
// event_state / isapi.
#include "device.hpp"

#include <passerelle/io_executor.hpp>

namespace {

using passerelle::key;

class Hikvision final : public passerelle::Instance {
public:
    using executor_type = passerelle::IoExecutor; // every device of this module on one io thread
    // Camera events need no millisecond: out of work, this loop gathers 20 ms
    // (the most [daemon] coalesce allows) before it sleeps, so a fleet's
    // trickle (1,000 cameras at 5,000 events/s) costs ~50 wake-ups a second of
    // this thread and of the sink's behind it (~850 at 1 ms, ~200 at 5 ms;
    // measured: ~490 fewer context switches a second than at 5 ms). An event
    // is then ~20 ms later at worst, far below what a light or a siren shows;
    // a snapshot or an action waits up to that much longer per round trip.
    // [daemon] coalesce, when set, applies instead.
    static constexpr std::chrono::microseconds default_coalesce{20000};

    static constexpr passerelle::ModuleInfo info{"hikvision", "1.0.0",
                                                 "Hikvision ISAPI cameras, NVRs and intercoms (alertStream, snapshots, actions)"};

    static constexpr pl_key_decl keys[] = {
        key("url", PL_KEY_STRING, nullptr, "Device address, http://host[:port] or https://host[:port]", PL_KEY_REQUIRED),
        key("user", PL_KEY_STRING, "admin", "ISAPI user"),
        key("password", PL_KEY_STRING, nullptr, "ISAPI password (or password_file, or ${ENV})", PL_KEY_SECRET),
        key("verify_tls", PL_KEY_BOOL, "true", "Verify the device's TLS certificate (https)"),
        key("ca_file", PL_KEY_PATH, nullptr, "PEM file of trusted certificates (a camera's self-signed one)"),
        key("inactive_timeout", PL_KEY_DURATION, "5s",
            "Silence after which an active event without inactive gets a synthesized stop"),
        key("heartbeat_timeout", PL_KEY_DURATION, "40s",
            "Read-idle timeout: no byte (heartbeat or event) for this long reconnects the stream"),
        key("reattach_interval", PL_KEY_DURATION, "5m",
            "For devices that never send heartbeats: re-attach the stream after this much silence"),
        key("reconnect_max", PL_KEY_DURATION, "60s", "Cap of the reconnect backoff (first retry within 2 s)"),
        key("auth_backoff", PL_KEY_DURATION, "60s", "First wait after the device refused the credentials (doubles)"),
        key("auth_backoff_max", PL_KEY_DURATION, "10m", "Cap of the wait after refused credentials"),
        key("image_wait", PL_KEY_DURATION, "2s", "How long an event announcing a picture waits for the image part"),
        key("hold_smart_events", PL_KEY_BOOL, "false",
            "Also hold smart events that announce no picture, for the image part that may follow"),
        key("image_dir", PL_KEY_PATH, nullptr,
            "Directory where event images and snapshots are saved (default: the instance's state dir)"),
        key("image_retention", PL_KEY_DURATION, "7d", "Images older than this are deleted"),
        key("snapshot_on", PL_KEY_STRING_LIST, nullptr,
            "Event types or codes that get a snapshot attached (e.g. [\"doorbell\", \"linedetection\"])"),
        key("channels", PL_KEY_TABLE, nullptr,
            "Channel names, overriding the device's: { 1 = \"Garage\", 2 = \"Jardin\" } (attrs.channel_name)"),
        key("call_status_poll", PL_KEY_DURATION, "0s",
            "Intercoms: poll /ISAPI/VideoIntercom/callStatus this often for ring/onCall/idle (0 = off)"),
        key("request_timeout", PL_KEY_DURATION, "10s", "Timeout of one ISAPI request (actions, snapshots, info)"),
    };

    static constexpr pl_action_decl actions[] = {
        {"snapshot", "channel (default 1)", "Saves a JPEG of the channel under image_dir; replies path and size"},
        {"set_motion_detection", "channel (default 1), enabled", "Turns the channel's motion detection on or off"},
        {"set_event_notification", "event_type, enabled, channel (optional)",
         "Turns the center notification (alertStream) of an event type on or off via /ISAPI/Event/triggers"},
        {"trigger_output", "output (default 1), state (high|low, default high)", "Sets an alarm output (siren, strobe)"},
        {"open_door", "door (default 1), cmd (open|close|alwaysOpen|alwaysClose, default open)",
         "Opens an intercom / access terminal door"},
        {"arm", "", "Restores the center notification of every event type the user had enabled before disarm"},
        {"disarm", "", "Turns off the center notification of every event type, remembering which were on"},
    };

    explicit Hikvision(const passerelle::Init& init)
        : Instance(init), device_(*this, passerelle::hikvision::read_device_config(init.config)) {}

    void on_start() override { device_.start(static_cast<passerelle::IoExecutor&>(executor()).io()); }
    void on_stop() override { device_.stop(); }
    void on_action(passerelle::Call& call) override {
        if (!device_.handle(call)) Instance::on_action(call);
    }

private:
    passerelle::hikvision::Device device_;
};

} // namespace

PL_DEFINE_MODULE(Hikvision)
