// dahua: events, snapshots and actions of Dahua / Amcrest / Lorex cameras, NVRs
// and VTO doorbells. The declaration below is the module's reference (README.md
// uses the same words); the work is in device.cpp, cgi_session.cpp and
// dhip_session.cpp, the pure parsing in cgi_stream_parser / event_mapping / dhip.
#include "device.hpp"

#include <passerelle/io_executor.hpp>
#include <passerelle/module.hpp>

namespace {

using passerelle::key;

class Dahua final : public passerelle::Instance {
public:
    using executor_type = passerelle::IoExecutor;
    // Camera events need no millisecond: out of work, this loop gathers 20 ms
    // (the most [daemon] coalesce allows) before it sleeps, so a fleet's
    // trickle (1,000 cameras at 5,000 events/s) costs ~50 wake-ups a second of
    // this thread and of the sink's behind it (~850 at 1 ms, ~200 at 5 ms;
    // measured: ~490 fewer context switches a second than at 5 ms). An event
    // is then ~20 ms later at worst, far below what a light or a siren shows;
    // a snapshot or an action waits up to that much longer per round trip.
    // [daemon] coalesce, when set, applies instead.
    static constexpr std::chrono::microseconds default_coalesce{20000};

    static constexpr passerelle::ModuleInfo info{"dahua", "1.0.0",
                                                 "Dahua cameras, NVRs and VTO doorbells: events, snapshots, actions"};

    static constexpr pl_key_decl keys[] = {
        key("url", PL_KEY_STRING, nullptr, "Device address, http://host[:port] or https://host[:port]", PL_KEY_REQUIRED),
        key("user", PL_KEY_STRING, "admin", "User name on the device"),
        key("password", PL_KEY_STRING, nullptr, "Password (or password_file / ${ENV})", PL_KEY_SECRET),
        key("codes", PL_KEY_STRING_LIST, nullptr,
            "Event codes to publish (default: all); filtered here because firmware truncates long code lists"),
        key("heartbeat", PL_KEY_DURATION, "5s",
            "Heartbeat asked of the device; a stream silent for 3 heartbeats + 2 s is reconnected"),
        key("verify_tls", PL_KEY_BOOL, "true", "Verify the device's TLS certificate (https)"),
        key("ca_file", PL_KEY_PATH, nullptr, "PEM file of trusted certificates (the camera's self-signed cert)"),
        key("protocol", PL_KEY_STRING, "cgi", "cgi (HTTP event stream) or dhip (VTO doorbells, TCP 5000)"),
        key("dhip_port", PL_KEY_INT, "5000", "DHIP TCP port (protocol = \"dhip\")"),
        key("snapshot_on", PL_KEY_STRING_LIST, nullptr, "Codes or types that get a snapshot attached"),
        key("snapshot_dir", PL_KEY_PATH, nullptr, "Where the snapshot action saves JPEGs (default: state_dir/snapshots)"),
        key("channels", PL_KEY_TABLE, nullptr,
            "Channel names, e.g. { 1 = \"Garage\" } (override the device's titles; attrs.channel_name)"),
        key("reconnect_max", PL_KEY_DURATION, "60s", "Ceiling of the reconnect backoff (first retry within 2 s)"),
        key("auth_retry", PL_KEY_DURATION, "60s",
            "First wait after the device refused the credentials (doubles up to auth_retry_max)"),
        key("auth_retry_max", PL_KEY_DURATION, "10m", "Ceiling of the wait after refused credentials"),
        key("missed_rings", PL_KEY_STRING, "auto",
            "Replay rings missed while disconnected from the call log: auto (VTO or dhip), true, false"),
    };

    static constexpr pl_action_decl actions[] = {
        {"snapshot", "channel", "Saves a JPEG of the channel (default 1); replies with its path and size"},
        {"open_door", "channel, user_id", "Opens the door (CGI accessControl openDoor, or DHIP)"},
        {"set_motion_detection", "channel, enabled", "Enables or disables motion detection on a channel"},
        {"arm", "channel", "Re-enables the alarm linkage of a channel (DisableLinkage off)"},
        {"disarm", "channel", "Disables the alarm linkage of a channel (DisableLinkage on)"},
    };

    explicit Dahua(const passerelle::Init& init)
        : Instance(init),
          device_(*this, static_cast<passerelle::IoExecutor&>(executor()).io(),
                  passerelle::dahua::parse_device_config(init.config)) {}

    void on_start() override { device_.start(); }
    void on_stop() override { device_.stop(); }
    void on_action(passerelle::Call& call) override { device_.action(call); }

private:
    passerelle::dahua::Device device_;
};

} // namespace

PL_DEFINE_MODULE(Dahua)
