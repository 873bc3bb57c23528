#include "device.hpp"

#include "alert_stream.hpp"
#include "backoff.hpp"
#include "isapi.hpp"

#include <passerelle/http/client.hpp>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

namespace fs = std::filesystem;
using nlohmann::json;

namespace passerelle::hikvision {
namespace {

int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Safe in a file name: letters, digits, '-', '_'.
std::string file_word(std::string_view s) {
    std::string out;
    for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    return out.empty() ? "x" : out.substr(0, 40);
}

std::string utc_stamp(int64_t ns) {
    time_t secs = static_cast<time_t>(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>((ns / 1'000'000) % 1000));
    return buf;
}

// An ISAPI exchange result as a reply: ok, auth, permanent 4xx, else retry.
void reply_error(const Reply& reply, const http::Response& r, std::string_view what) {
    std::string msg = std::string(what) + ": " + http::describe(r);
    if (std::string rs = response_status_text(r.body); !rs.empty()) msg += " (" + rs + ")";
    if (r.error == http::ErrorKind::auth_failed) reply.fail(PL_ERR_AUTH, msg);
    else if (r.error == http::ErrorKind::http_status && r.status >= 400 && r.status < 500 && r.status != 429)
        reply.fail(PL_ERR_PERMANENT, msg);
    else reply.retry(msg, r.retry_after ? r.retry_after->count() : 0);
}

} // namespace

DeviceConfig read_device_config(const Fields& c) {
    DeviceConfig d;
    std::string url = c.string("url");
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
        throw ConfigError("url", "must start with http:// or https:// (e.g. http://192.168.1.64)");
    const size_t host_start = url.find("//") + 2;
    const size_t path = url.find('/', host_start);
    d.base_url = url.substr(0, path);
    if (d.base_url.size() <= host_start) throw ConfigError("url", "has no host");
    d.user = c.string("user", "");
    d.password = c.string("password", "");
    d.verify_tls = c.boolean("verify_tls", true);
    d.ca_file = c.string("ca_file", "");
    d.inactive_timeout = c.duration("inactive_timeout", std::chrono::milliseconds(5'000));
    d.heartbeat_timeout = c.duration("heartbeat_timeout", std::chrono::milliseconds(40'000));
    d.reattach_interval = c.duration("reattach_interval", std::chrono::milliseconds(300'000));
    d.reconnect_max = c.duration("reconnect_max", std::chrono::milliseconds(60'000));
    d.auth_backoff = c.duration("auth_backoff", std::chrono::milliseconds(60'000));
    d.auth_backoff_max = c.duration("auth_backoff_max", std::chrono::milliseconds(600'000));
    d.image_wait = c.duration("image_wait", std::chrono::milliseconds(2'000));
    d.request_timeout = c.duration("request_timeout", std::chrono::milliseconds(10'000));
    d.hold_smart_events = c.boolean("hold_smart_events", false);
    d.image_dir = c.string("image_dir", "");
    d.image_retention = c.duration("image_retention", std::chrono::milliseconds(7LL * 24 * 3600 * 1000));
    d.call_status_poll = c.duration("call_status_poll", std::chrono::milliseconds(0));
    auto positive = [](std::chrono::milliseconds v, const char* key) {
        if (v.count() <= 0) throw ConfigError(key, "must be more than 0");
    };
    positive(d.inactive_timeout, "inactive_timeout");
    positive(d.heartbeat_timeout, "heartbeat_timeout");
    positive(d.reattach_interval, "reattach_interval");
    positive(d.reconnect_max, "reconnect_max");
    positive(d.auth_backoff, "auth_backoff");
    positive(d.auth_backoff_max, "auth_backoff_max");
    positive(d.request_timeout, "request_timeout");
    positive(d.image_retention, "image_retention");
    if (d.image_wait.count() < 0) throw ConfigError("image_wait", "must not be negative");
    if (d.call_status_poll.count() < 0) throw ConfigError("call_status_poll", "must not be negative");
    if (d.call_status_poll.count() > 0 && d.call_status_poll.count() < 200)
        throw ConfigError("call_status_poll", "must be at least 200ms (or 0 to disable)");
    for (const auto& s : c.list("snapshot_on")) d.snapshot_on.insert(s);
    if (c.has("channels")) {
        for (const auto& [k, v] : c.table("channels")) {
            int ch = 0;
            try {
                size_t used = 0;
                ch = std::stoi(k, &used);
                if (used != k.size()) ch = 0;
            } catch (...) {
            }
            if (ch <= 0) throw ConfigError("channels", "keys must be channel numbers (1 = \"Garage\"), not '" + k + "'");
            d.channel_names[ch] = v;
        }
    }
    return d;
}

struct Device::Impl {
    Impl(Instance& self, DeviceConfig cfg) : self(self), cfg(std::move(cfg)) {
        per_event.names = !this->cfg.channel_names.empty();
        per_event.images = !this->cfg.image_dir.empty();
        per_event.snapshots = !this->cfg.snapshot_on.empty();
    }

    Instance& self;
    // What on_events asks of every event, next to `self`: with 1,000 cameras
    // each event finds this device cold, and the config's maps and sets are
    // several cache lines away (most devices have no names, no image_dir, no
    // snapshot_on).
    struct PerEvent {
        bool names = false;     // channel names known (config or device)
        bool images = false;    // image_dir set
        bool snapshots = false; // snapshot_on not empty
    } per_event;
    DeviceConfig cfg;
    std::unique_ptr<http::HttpClient> http;
    std::unique_ptr<AlertStream> stream;
    bool running = false;

    // What the device told us on connect, shown in health info.
    json device_info = json::object();
    std::map<int, std::string> device_channels;
    bool device_info_read = false, channels_settled = false, reading_info = false;
    std::vector<std::function<void()>> info_waiters;
    std::string health_state, health_detail;

    // Events waiting in order for a snapshot to be attached to one of them.
    struct Pending {
        Event event;
        bool waiting = false;
    };
    std::deque<Pending> queue;
    uint64_t next_pending_id = 0;
    bool nvr_pictures = false; // StreamingProxy answered where Streaming did not

    // arm/disarm, persisted in state_dir.
    bool armed = true;
    std::vector<std::string> saved_center; // trigger ids the user had enabled before disarm

    std::string last_call_status;
    unsigned call_status_refusals = 0; // consecutive refused polls
    std::minstd_rand rng{std::random_device{}()};

    const Host& host() const { return self.host(); }

    // ---------------------------------------------------------------- helpers
    http::Request request(std::string method, std::string path, std::string body = {}) const {
        http::Request r;
        r.method = std::move(method);
        r.url = cfg.base_url + path;
        r.body = std::move(body);
        if (!r.body.empty()) r.headers.push_back({"Content-Type", "application/xml; charset=\"UTF-8\""});
        if (!cfg.user.empty()) r.credentials = http::Credentials{cfg.user, cfg.password};
        http::Timeouts t;
        t.connect = std::min(t.connect, cfg.request_timeout);
        t.read = cfg.request_timeout;
        t.total = cfg.request_timeout;
        r.timeouts = t;
        return r;
    }

    void send(http::Request r, std::function<void(http::Response)> done) {
        if (!http) return; // stopped: the reply dies unanswered, the caller is told
        http->request(std::move(r), std::move(done));
    }

    json health_info() const {
        json info = device_info;
        info["armed"] = armed;
        if (stream) {
            const auto& s = stream->stats();
            info["path"] = s.path;
            info["heartbeats_seen"] = s.heartbeats_seen;
        }
        if (!device_channels.empty()) info["channels"] = device_channels.size();
        return info;
    }

    void set_health(std::string_view state, std::string_view detail) {
        health_state = state;
        health_detail = detail;
        host().health(state, detail, health_info());
    }

    std::string channel_name(int ch) const {
        if (auto it = cfg.channel_names.find(ch); it != cfg.channel_names.end()) return it->second;
        if (auto it = device_channels.find(ch); it != device_channels.end()) return it->second;
        return {};
    }

    fs::path images_dir() const {
        if (!cfg.image_dir.empty()) return cfg.image_dir;
        return fs::path(host().state_dir()) / "images";
    }

    // Saves an image; returns its path ("" on failure, logged).
    std::string save_image(const std::vector<uint8_t>& bytes, std::string_view mime, int ch, std::string_view what) {
        std::error_code ec;
        fs::path dir = images_dir();
        fs::create_directories(dir, ec);
        const std::string ext = mime == "image/png" ? ".png" : ".jpg";
        fs::path p = dir / (file_word(self.name()) + "_" + utc_stamp(wall_ns()) + "_ch" + std::to_string(ch) + "_" +
                            file_word(what) + "_" + std::to_string(++next_pending_id) + ext);
        std::ofstream out(p, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            host().warn("cannot write image " + p.string());
            return {};
        }
        return p.string();
    }

    // ---------------------------------------------------------------- lifecycle
    void start(boost::asio::io_context& io) {
        running = true;
        load_arm_state();
        http::ClientOptions o;
        // A plain-http device never does TLS (redirects are refused), so its client
        // does not even load the system CA store (https devices share one, see the SDK).
        const bool plain_http = cfg.base_url.rfind("http://", 0) == 0;
        o.verify_tls = cfg.verify_tls && !plain_http;
        o.ca_file = cfg.ca_file;
        o.max_response_bytes = 16 * 1024 * 1024;
        // TCP keepalive: the fallback for devices that never send heartbeats. Their
        // alertStream is read with reattach_interval (5 min) as the idle limit, so a
        // camera that lost power would otherwise look connected for minutes; with
        // keepalive the kernel notices in about 30 + 3 x 10 = 60 s. A device with
        // heartbeats (every 10 s) never leaves its stream idle 30 s: no probe is sent.
        o.tcp_keepalive_idle = std::chrono::seconds(30);
        o.tcp_keepalive_interval = std::chrono::seconds(10);
        if (!cfg.verify_tls && !plain_http) host().warn(http::insecure_tls_warning(self.name(), cfg.base_url));
        http = std::make_unique<http::HttpClient>(io, o);

        AlertStreamOptions so;
        so.base_url = cfg.base_url;
        if (!cfg.user.empty()) so.credentials = http::Credentials{cfg.user, cfg.password};
        so.heartbeat_timeout = cfg.heartbeat_timeout;
        so.reattach_interval = cfg.reattach_interval;
        so.reconnect_max = cfg.reconnect_max;
        so.auth_backoff = cfg.auth_backoff;
        so.auth_backoff_max = cfg.auth_backoff_max;
        so.state.inactive_timeout_ns = cfg.inactive_timeout.count() * 1'000'000;
        so.state.image_wait_ns = cfg.image_wait.count() * 1'000'000;
        so.state.hold_smart_events = cfg.hold_smart_events;
        AlertStreamCallbacks cb;
        cb.on_events = [this](std::vector<Event>& evs) { on_events(evs); };
        cb.on_health = [this](std::string_view st, std::string_view detail) { set_health(st, detail); };
        cb.on_count = [this](std::string_view name, int64_t delta) { host().count(name, delta); };
        cb.on_log = [this](bool warning, std::string_view m) {
            if (warning) host().warn(m);
            else host().info(m);
        };
        // Not known yet (the device was off or refused us): read before the next
        // attach, so its first events carry channel_name. After a refused login
        // the stream tries alone (one failed login per attempt, not three) and
        // the read follows once it is accepted.
        cb.before_reconnect = [this](bool after_auth_failure, std::function<void()> proceed) {
            if (info_known() || after_auth_failure) return proceed();
            read_device(std::move(proceed));
        };
        cb.on_connected = [this] {
            if (!info_known()) read_device([] {});
        };
        stream = std::make_unique<AlertStream>(io, *http, so, std::move(cb));
        set_health("reconnecting", "connecting to " + cfg.base_url);
        // Device and channel names first, so the first events carry channel_name;
        // the stream opens when they are read (or failed).
        read_device([this] {
            if (running && stream) stream->start();
        });
        schedule_retention(std::chrono::seconds(1));
        if (cfg.call_status_poll.count() > 0) schedule_call_status(cfg.call_status_poll);
    }

    void stop() {
        running = false;
        if (stream) stream->stop("stopped"); // synthesized stops for what is still active
        // Events still waiting for a snapshot go out without it.
        for (auto& p : queue) self.publish(p.event);
        queue.clear();
        stream.reset();
        http.reset(); // cancels every request: their callbacks never run
        self.timers().cancel_all();
    }

    // ---------------------------------------------------------------- events
    void on_events(std::vector<Event>& evs) {
        for (Event& e : evs) {
            if (per_event.names)
                if (std::string n = channel_name(e.channel); !n.empty()) e.attrs["channel_name"] = std::move(n);
            if (per_event.images && !e.attachment.empty())
                e.attachment_path = save_image(e.attachment, e.attachment_mime, e.channel, e.code);
            const bool wants = per_event.snapshots && e.attachment.empty() && e.state != State::stop &&
                               (cfg.snapshot_on.count(e.type) || cfg.snapshot_on.count(e.code));
            // The queue only keeps events in order behind one waiting for its
            // snapshot: with none waiting, an event goes out at once (no move
            // into the deque and out again, per event).
            if (!wants && queue.empty()) {
                self.publish(e);
                continue;
            }
            queue.push_back({std::move(e), wants});
            if (wants) fetch_event_snapshot(&queue.back());
        }
        drain();
    }

    void drain() {
        while (!queue.empty() && !queue.front().waiting) {
            self.publish(queue.front().event);
            queue.pop_front();
        }
    }

    // Pending entries live in a deque that only grows at the back and shrinks at
    // the front, so a pointer stays valid until that entry is published; we
    // look it up again by identity to be safe.
    void fetch_event_snapshot(Pending* p) {
        const int ch = p->event.channel > 0 ? p->event.channel : 1;
        fetch_picture(ch, [this, p](std::optional<std::pair<std::string, std::string>> img, const http::Response&) {
            auto it = std::find_if(queue.begin(), queue.end(), [p](const Pending& q) { return &q == p; });
            if (it == queue.end()) return;
            if (img) {
                it->event.attachment.assign(img->first.begin(), img->first.end());
                it->event.attachment_mime = img->second;
                it->event.attrs["snapshot"] = "true";
                if (!cfg.image_dir.empty())
                    it->event.attachment_path =
                        save_image(it->event.attachment, img->second, it->event.channel, it->event.code);
            } else {
                it->event.attrs["snapshot"] = "failed";
            }
            it->waiting = false;
            drain();
        });
    }

    // GET the channel's picture: /ISAPI/Streaming/channels/<ch>01/picture, else
    // (NVR) /ISAPI/ContentMgmt/StreamingProxy/channels/<ch>01/picture.
    using PictureDone = std::function<void(std::optional<std::pair<std::string, std::string>>, const http::Response&)>;
    void fetch_picture(int ch, PictureDone done, bool fallback = false) {
        const bool proxy = nvr_pictures != fallback;
        const std::string path = std::string(proxy ? "/ISAPI/ContentMgmt/StreamingProxy" : "/ISAPI/Streaming") +
                                 "/channels/" + std::to_string(ch) + "01/picture";
        send(request("GET", path), [this, ch, done = std::move(done), fallback, proxy](http::Response r) {
            if (r.ok()) {
                if (fallback) nvr_pictures = proxy;
                std::string mime(r.header("Content-Type").value_or("image/jpeg"));
                if (mime.find("png") != std::string::npos) mime = "image/png";
                else mime = "image/jpeg";
                host().count("snapshots");
                done(std::make_pair(std::move(r.body), mime), r);
                return;
            }
            if (!fallback && r.error == http::ErrorKind::http_status && (r.status == 404 || r.status == 403 || r.status == 400)) {
                fetch_picture(ch, std::move(done), true);
                return;
            }
            host().count("snapshot_errors");
            host().info("snapshot of channel " + std::to_string(ch) + " failed: " + http::describe(r));
            done(std::nullopt, r);
        });
    }

    // ---------------------------------------------------------------- device info
    // deviceInfo and the channel list are read before the first attach and again
    // before each re-attach (or once a stream is open) until both are known: a
    // camera that was off when the daemon started (a power cut restarting
    // everything) still gets its model, serial and channel names.
    bool info_known() const { return device_info_read && channels_settled; }

    // Reads what is not known yet, then calls `then`. Calls made while a read
    // is under way wait for it (one read at a time).
    void read_device(std::function<void()> then) {
        info_waiters.push_back(std::move(then));
        if (reading_info) return;
        reading_info = true;
        auto finish = [this] {
            reading_info = false;
            if (!health_state.empty()) set_health(health_state, health_detail); // now with the info
            auto waiters = std::move(info_waiters);
            info_waiters.clear();
            for (auto& w : waiters) w();
        };
        if (device_info_read) {
            const bool recorder = device_info.value("nvr", false) || is_recorder();
            return read_channels(recorder, true, finish);
        }
        send(request("GET", "/ISAPI/System/deviceInfo"), [this, finish](http::Response r) {
            if (r.ok()) {
                if (auto di = parse_device_info(r.body)) {
                    // Top-level strings: the kernel copies model/serial/firmware into the device event.
                    device_info["name"] = di->name;
                    device_info["model"] = di->model;
                    device_info["serial"] = di->serial;
                    device_info["firmware"] = di->firmware;
                    device_info["device_type"] = di->device_type;
                    device_info_read = true;
                }
            } else {
                host().info("deviceInfo: " + http::describe(r));
                // A device without deviceInfo (404) will not grow one: do not ask again.
                if (r.error == http::ErrorKind::http_status && r.status == 404) device_info_read = true;
            }
            // Refused or unreachable: the channel list would be too (and a refused
            // login counts against the device's lockout); try again on the next attach.
            if (!r.ok() && (r.error == http::ErrorKind::auth_failed || r.error == http::ErrorKind::transport ||
                            r.error == http::ErrorKind::timeout))
                return finish();
            read_channels(is_recorder(), true, finish);
        });
    }

    bool is_recorder() const {
        const std::string type = lower(device_info.value("device_type", ""));
        return type.find("nvr") != std::string::npos || type.find("dvr") != std::string::npos;
    }

    void read_channels(bool proxy, bool first, std::function<void()> then) {
        const std::string path = proxy ? "/ISAPI/ContentMgmt/InputProxy/channels" : "/ISAPI/System/Video/inputs/channels";
        send(request("GET", path), [this, proxy, first, then](http::Response r) {
            std::map<int, std::string> names;
            if (r.ok()) names = parse_channel_names(r.body);
            const bool unreachable = r.error == http::ErrorKind::auth_failed || r.error == http::ErrorKind::timeout ||
                                     r.error == http::ErrorKind::transport;
            if (names.empty() && first && !unreachable) return read_channels(!proxy, false, then);
            // Names, or both lists answered without any (an intercom): nothing more to learn.
            if (!names.empty() || !unreachable) channels_settled = true;
            if (!names.empty()) {
                device_channels = std::move(names);
                per_event.names = !cfg.channel_names.empty() || !device_channels.empty();
                if (proxy) device_info["nvr"] = true;
            }
            then();
        });
    }

    // ---------------------------------------------------------------- retention
    void schedule_retention(std::chrono::milliseconds delay) {
        self.timers().after(delay, [this] {
            if (!running) return;
            prune_images();
            auto period = std::clamp<std::chrono::milliseconds>(cfg.image_retention / 4, std::chrono::seconds(1),
                                                                 std::chrono::hours(1));
            schedule_retention(period);
        });
    }

    // Deletes this instance's images older than image_retention.
    void prune_images() {
        std::error_code ec;
        const fs::path dir = images_dir();
        if (!fs::is_directory(dir, ec)) return;
        const std::string prefix = file_word(self.name()) + "_";
        const auto limit = fs::file_time_type::clock::now() - cfg.image_retention;
        int removed = 0;
        for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
            const auto name = it->path().filename().string();
            if (name.rfind(prefix, 0) != 0 || !it->is_regular_file(ec)) continue;
            if (it->last_write_time(ec) < limit && !ec && fs::remove(it->path(), ec)) ++removed;
        }
        if (removed > 0) {
            host().count("images_deleted", removed);
            host().debug("deleted " + std::to_string(removed) + " images older than image_retention");
        }
    }

    // ---------------------------------------------------------------- call status
    // Polls every call_status_poll; a refused login waits auth_backoff (doubling to
    // auth_backoff_max, like the stream): intercoms lock out an IP after a few
    // failed logins, and one per poll would get there within seconds.
    void schedule_call_status(std::chrono::milliseconds delay) {
        self.timers().after(delay, [this] {
            if (!running) return;
            send(request("GET", "/ISAPI/VideoIntercom/callStatus?format=json"), [this](http::Response r) {
                const bool refused = r.error == http::ErrorKind::auth_failed ||
                                     (r.error == http::ErrorKind::http_status && (r.status == 401 || r.status == 403));
                if (!refused) {
                    call_status_refusals = 0;
                    if (r.ok()) on_call_status(parse_call_status(r.body));
                    return schedule_call_status(cfg.call_status_poll);
                }
                const auto wait = auth_backoff(call_status_refusals++, cfg.auth_backoff, cfg.auth_backoff_max,
                                               std::uniform_real_distribution<double>(0.0, 1.0)(rng));
                host().warn("callStatus poll: " + http::describe(r) + "; next poll in " +
                            std::to_string(wait.count() / 1000) + " s (the device locks out repeated failed logins)");
                schedule_call_status(wait);
            });
        });
    }

    void on_call_status(const std::string& status) {
        if (status.empty() || status == last_call_status) return;
        const std::string before = last_call_status;
        last_call_status = status;
        if (before.empty() && status != "ring") return; // first reading: nothing happened
        Event e;
        e.type = "doorbell";
        e.code = "callStatus";
        e.channel = 1;
        e.time_ns = wall_ns();
        e.attrs["call_status"] = status;
        e.attrs["previous"] = before.empty() ? "unknown" : before;
        if (status == "ring") e.state = State::start;
        else if (before == "ring") {
            e.state = State::stop;
            e.attrs["answered"] = status == "onCall" ? "true" : "false";
        } else {
            e.state = State::pulse;
        }
        std::vector<Event> evs{std::move(e)};
        on_events(evs);
    }

    // ---------------------------------------------------------------- arm state
    fs::path arm_file() const { return fs::path(host().state_dir()) / "arm_state.json"; }

    void load_arm_state() {
        std::ifstream in(arm_file());
        if (!in) return;
        auto j = json::parse(in, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return;
        armed = j.value("armed", true);
        saved_center.clear();
        if (auto it = j.find("enabled"); it != j.end() && it->is_array())
            for (const auto& v : *it)
                if (v.is_string()) saved_center.push_back(v.get<std::string>());
    }

    bool save_arm_state() {
        if (host().state_dir().empty()) return false;
        const fs::path p = arm_file(), tmp = p.string() + ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            out << json{{"armed", armed}, {"enabled", saved_center}}.dump();
            if (!out) return false;
        }
        std::error_code ec;
        fs::rename(tmp, p, ec);
        return !ec;
    }

    void publish_armed() {
        Event e;
        e.type = "armed";
        e.code = armed ? "arm" : "disarm";
        e.state = armed ? State::start : State::stop;
        e.time_ns = wall_ns();
        std::vector<Event> evs{std::move(e)};
        on_events(evs);
        if (!health_state.empty()) set_health(health_state, health_detail);
    }

    // GET triggers, change center notification, PUT it back.
    void modify_triggers(const Reply& reply, std::string what,
                         std::function<std::optional<bool>(const TriggerInfo&)> select,
                         std::function<void(const std::map<std::string, TriggerInfo>&, int changed)> after) {
        send(request("GET", "/ISAPI/Event/triggers"), [this, reply, what, select, after](http::Response r) {
            if (!r.ok()) return reply_error(reply, r, what);
            auto before = parse_triggers(r.body);
            auto change = set_center(r.body, select);
            if (!before || !change) return reply.fail(PL_ERR_PERMANENT, what + ": the device sent no EventTriggerList");
            if (change->changed == 0) return after(*before, 0);
            const int changed = change->changed;
            send(request("PUT", "/ISAPI/Event/triggers", std::move(change->xml)),
                 [reply, what, after, before = std::move(*before), changed](http::Response put) {
                     if (!put.ok()) return reply_error(reply, put, what);
                     after(before, changed);
                 });
        });
    }

    void disarm(const Reply& reply) {
        modify_triggers(reply, "disarm", [](const TriggerInfo&) { return std::optional<bool>(false); },
                        [this, reply](const std::map<std::string, TriggerInfo>& before, int changed) {
                            // Remember what the user had enabled (merged when already disarmed).
                            std::set<std::string> keep;
                            if (!armed) keep.insert(saved_center.begin(), saved_center.end());
                            for (const auto& [id, t] : before)
                                if (t.center) keep.insert(id);
                            saved_center.assign(keep.begin(), keep.end());
                            const bool was = armed;
                            armed = false;
                            if (!save_arm_state()) host().warn("cannot persist the arm state in " + host().state_dir());
                            if (was) publish_armed();
                            reply.ok(json{{"armed", false}, {"disabled", changed}, {"remembered", saved_center}});
                        });
    }

    void arm(const Reply& reply) {
        std::set<std::string> restore(saved_center.begin(), saved_center.end());
        modify_triggers(reply, "arm",
                        [restore](const TriggerInfo& t) -> std::optional<bool> {
                            if (restore.count(t.id)) return true;
                            return std::nullopt;
                        },
                        [this, reply](const std::map<std::string, TriggerInfo>&, int changed) {
                            const bool was = armed;
                            armed = true;
                            saved_center.clear();
                            if (!save_arm_state()) host().warn("cannot persist the arm state in " + host().state_dir());
                            if (!was) publish_armed();
                            reply.ok(json{{"armed", true}, {"restored", changed}});
                        });
    }

    // ---------------------------------------------------------------- actions
    static int positive_param(const Fields& p, const char* key, int64_t def) {
        int64_t v = p.integer(key, def);
        if (v < 1 || v > 9999) throw ConfigError(key, "must be between 1 and 9999");
        return static_cast<int>(v);
    }

    bool handle(Call& call) {
        const std::string& a = call.action;
        const Reply reply = call.reply;
        if (!http) {
            if (a == "snapshot" || a == "set_motion_detection" || a == "set_event_notification" ||
                a == "trigger_output" || a == "open_door" || a == "arm" || a == "disarm") {
                reply.retry("instance not running");
                return true;
            }
            return false;
        }
        if (a == "snapshot") {
            const int ch = positive_param(call.params, "channel", 1);
            fetch_picture(ch, [this, reply, ch](std::optional<std::pair<std::string, std::string>> img,
                                                const http::Response& r) {
                if (!img) return reply_error(reply, r, "snapshot");
                std::vector<uint8_t> bytes(img->first.begin(), img->first.end());
                std::string path = save_image(bytes, img->second, ch, "snapshot");
                if (path.empty()) return reply.retry("cannot write the image under " + images_dir().string());
                reply.ok(json{{"path", path}, {"size", bytes.size()}, {"mime", img->second}, {"channel", ch}});
            });
        } else if (a == "set_motion_detection") {
            const int ch = positive_param(call.params, "channel", 1);
            const bool enabled = call.params.boolean("enabled");
            const std::string path = "/ISAPI/System/Video/inputs/channels/" + std::to_string(ch) + "/motionDetection";
            send(request("GET", path), [this, reply, path, ch, enabled](http::Response r) {
                if (!r.ok()) return reply_error(reply, r, "set_motion_detection");
                auto xml = set_motion_enabled(r.body, enabled);
                if (!xml) return reply.fail(PL_ERR_PERMANENT, "set_motion_detection: no <enabled> in MotionDetection");
                send(request("PUT", path, std::move(*xml)), [reply, ch, enabled](http::Response put) {
                    if (!put.ok()) return reply_error(reply, put, "set_motion_detection");
                    reply.ok(json{{"channel", ch}, {"enabled", enabled}});
                });
            });
        } else if (a == "set_event_notification") {
            const std::string type = lower(call.params.string("event_type"));
            const bool enabled = call.params.boolean("enabled");
            const int64_t ch = call.params.integer("channel", 0);
            modify_triggers(reply, "set_event_notification",
                            [type, enabled, ch](const TriggerInfo& t) -> std::optional<bool> {
                                if (lower(t.event_type) != type || (ch > 0 && t.channel != ch)) return std::nullopt;
                                return enabled;
                            },
                            [reply, type, enabled, ch](const std::map<std::string, TriggerInfo>& before, int changed) {
                                bool found = std::any_of(before.begin(), before.end(), [&](const auto& kv) {
                                    return lower(kv.second.event_type) == type &&
                                           (ch <= 0 || kv.second.channel == ch);
                                });
                                if (!found)
                                    return reply.fail(PL_ERR_INVALID, "no event trigger of type '" + type + "'");
                                reply.ok(json{{"event_type", type}, {"enabled", enabled}, {"changed", changed}});
                            });
        } else if (a == "trigger_output") {
            const int n = positive_param(call.params, "output", 1);
            const std::string st = call.params.string("state", "high");
            if (st != "high" && st != "low") throw ConfigError("state", "must be high or low");
            const std::string path = "/ISAPI/System/IO/outputs/" + std::to_string(n) + "/trigger";
            std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IOPortData version=\"2.0\" "
                               "xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><outputState>" +
                               st + "</outputState></IOPortData>";
            send(request("PUT", path, std::move(body)), [reply, n, st](http::Response r) {
                if (!r.ok()) return reply_error(reply, r, "trigger_output");
                reply.ok(json{{"output", n}, {"state", st}});
            });
        } else if (a == "open_door") {
            const int n = positive_param(call.params, "door", 1);
            const std::string cmd = call.params.string("cmd", "open");
            if (cmd != "open" && cmd != "close" && cmd != "alwaysOpen" && cmd != "alwaysClose")
                throw ConfigError("cmd", "must be open, close, alwaysOpen or alwaysClose");
            const std::string path = "/ISAPI/AccessControl/RemoteControl/door/" + std::to_string(n);
            std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><RemoteControlDoor version=\"2.0\" "
                               "xmlns=\"http://www.isapi.org/ver20/XMLSchema\"><cmd>" +
                               cmd + "</cmd></RemoteControlDoor>";
            send(request("PUT", path, std::move(body)), [reply, n, cmd](http::Response r) {
                if (!r.ok()) return reply_error(reply, r, "open_door");
                reply.ok(json{{"door", n}, {"cmd", cmd}});
            });
        } else if (a == "arm") {
            arm(reply);
        } else if (a == "disarm") {
            disarm(reply);
        } else {
            return false;
        }
        return true;
    }
};

Device::Device(Instance& instance, DeviceConfig config) : impl_(std::make_unique<Impl>(instance, std::move(config))) {}
Device::~Device() {
    if (impl_->running) impl_->stop();
}
void Device::start(boost::asio::io_context& io) { impl_->start(io); }
void Device::stop() { impl_->stop(); }
bool Device::handle(Call& call) { return impl_->handle(call); }

} // namespace passerelle::hikvision
