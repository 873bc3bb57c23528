#include "device.hpp"

#include "cgi_replies.hpp"
#include "cgi_session.hpp"
#include "dhip_session.hpp"
#include "missed_rings.hpp"

#include <passerelle/http/client.hpp>
#include <passerelle/http/url.hpp>

#include <boost/asio/io_context.hpp>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <system_error>
#include <tuple>

namespace passerelle::dahua {

namespace fs = std::filesystem;
using ms = std::chrono::milliseconds;

DeviceConfig parse_device_config(const Fields& c) {
    DeviceConfig d;
    std::string url = c.string("url");
    auto parsed = http::parse_url(url);
    if (!parsed) throw ConfigError("url", "must be http://host[:port] or https://host[:port]");
    d.url = parsed->scheme() + "://" + parsed->host_header();
    if (parsed->host.find(':') != std::string::npos && d.url.find('[') == std::string::npos)
        d.url = parsed->scheme() + "://[" + parsed->host + "]:" + std::to_string(parsed->port);
    d.host = parsed->host;
    d.user = c.string("user", "admin");
    d.password = c.string("password", "");
    for (auto& code : c.list("codes"))
        if (code != "All" && code != "all" && code != "*") d.codes.insert(code);
    d.heartbeat = c.duration("heartbeat", ms(5000));
    if (d.heartbeat < ms(1000) || d.heartbeat > ms(300000)) throw ConfigError("heartbeat", "must be between 1s and 5m");
    d.verify_tls = c.boolean("verify_tls", true);
    d.ca_file = c.string("ca_file", "");
    std::string protocol = c.string("protocol", "cgi");
    if (protocol != "cgi" && protocol != "dhip") throw ConfigError("protocol", "must be \"cgi\" or \"dhip\"");
    d.dhip = protocol == "dhip";
    int64_t port = c.integer("dhip_port", 5000);
    if (port < 1 || port > 65535) throw ConfigError("dhip_port", "must be a TCP port (1-65535)");
    d.dhip_port = static_cast<uint16_t>(port);
    for (auto& s : c.list("snapshot_on")) d.snapshot_on.insert(s);
    for (auto& [k, v] : c.table("channels")) {
        int n = 0;
        try {
            size_t used = 0;
            n = std::stoi(k, &used);
            if (used != k.size()) n = 0;
        } catch (...) {
        }
        if (n < 1 || n > 1024) throw ConfigError("channels." + k, "channel numbers are 1-based integers");
        d.channels[n] = v;
    }
    d.reconnect_max = c.duration("reconnect_max", ms(60000));
    if (d.reconnect_max < ms(1000)) throw ConfigError("reconnect_max", "must be at least 1s");
    d.auth_retry = c.duration("auth_retry", ms(60000));
    d.auth_retry_max = c.duration("auth_retry_max", ms(600000));
    if (d.auth_retry < ms(1000)) throw ConfigError("auth_retry", "must be at least 1s");
    d.snapshot_dir = c.string("snapshot_dir", "");
    d.missed_rings = c.string("missed_rings", "auto");
    if (d.missed_rings != "auto" && d.missed_rings != "true" && d.missed_rings != "false")
        throw ConfigError("missed_rings", "must be auto, true or false");
    return d;
}

namespace {

pl_status status_of(const http::Response& r) {
    if (r.error == http::ErrorKind::auth_failed) return PL_ERR_AUTH;
    if (r.error == http::ErrorKind::http_status && r.status >= 400 && r.status < 500) return PL_ERR_PERMANENT;
    if (r.error == http::ErrorKind::invalid_request) return PL_ERR_INVALID;
    return PL_ERR_RETRY;
}

std::string timestamp_for_file(int64_t ns) {
    std::time_t t = static_cast<std::time_t>(ns / 1000000000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
    return std::string(buf) + "." + std::to_string((ns / 1000000) % 1000) + "Z";
}

// One HttpClient per (io_context, TLS settings), shared by the instances: one
// client's bookkeeping instead of 1,000 (the TLS trust store itself is shared
// process-wide by the SDK). Connection pools and auth caches are per origin
// inside it, so devices do not mix. Created from the
// kernel thread (create), released on the io thread (destroy).
std::shared_ptr<http::HttpClient> shared_client(boost::asio::io_context& io, const http::ClientOptions& o) {
    static std::mutex mutex;
    static std::map<std::tuple<const void*, bool, std::string>, std::weak_ptr<http::HttpClient>> clients;
    std::lock_guard lock(mutex);
    std::erase_if(clients, [](auto& kv) { return kv.second.expired(); });
    auto key = std::make_tuple(static_cast<const void*>(&io), o.verify_tls, o.ca_file);
    if (auto c = clients[key].lock()) return c;
    auto c = std::make_shared<http::HttpClient>(io, o);
    clients[key] = c;
    return c;
}

int channel_param(const Fields& p) {
    int64_t ch = p.integer("channel", 1);
    if (ch < 1 || ch > 1024) throw ConfigError("channel", "must be a 1-based channel number");
    return static_cast<int>(ch);
}

} // namespace

struct Device::Impl {
    Impl(Instance& self, boost::asio::io_context& io, DeviceConfig cfg)
        : self(self), io(io), cfg(std::move(cfg)), rings(fs::path(self.host().state_dir()) / "missed_rings") {
        http::ClientOptions o;
        o.verify_tls = this->cfg.verify_tls;
        o.ca_file = this->cfg.ca_file;
        o.timeouts = http::Timeouts{ms(10000), ms(15000), ms(30000)};
        o.max_response_bytes = 16 * 1024 * 1024;
        http = shared_client(io, o);
        if (!this->cfg.verify_tls && this->cfg.url.rfind("https", 0) == 0)
            self.host().warn(http::insecure_tls_warning(self.name(), this->cfg.url));
        load_armed();
    }

    ~Impl() {
        stop();
        cgi.reset();
        dhip.reset();
        http.reset(); // on the io thread; our pending callbacks check `alive`
    }

    Instance& self;
    boost::asio::io_context& io;
    DeviceConfig cfg;
    std::shared_ptr<http::HttpClient> http;
    std::shared_ptr<int> alive = std::make_shared<int>(0); // callbacks of a shared client outlive us
    std::unique_ptr<CgiSession> cgi;
    std::unique_ptr<DhipSession> dhip;
    MissedRings rings;
    bool running = false;
    bool connected = false;
    uint64_t generation = 0; // per start(): replies of a previous run are ignored
    std::map<int, std::string> device_titles;
    SystemInfo info;
    std::map<int, bool> armed; // channel -> armed (linkage enabled); remembered across restarts
    std::string last_state, last_detail;

    const Host& host() const { return self.host(); }

    std::optional<http::Credentials> credentials() const {
        if (cfg.user.empty() && cfg.password.empty()) return std::nullopt;
        return http::Credentials{cfg.user, cfg.password, false};
    }

    // ---- health ------------------------------------------------------------
    nlohmann::json health_info() const {
        nlohmann::json j = nlohmann::json::object();
        j["url"] = cfg.url;
        j["protocol"] = cfg.dhip ? "dhip" : "cgi";
        if (!info.model.empty()) j["model"] = info.model;
        if (!info.serial.empty()) j["serial"] = info.serial;
        if (!armed.empty()) {
            nlohmann::json a = nlohmann::json::object();
            for (auto& [ch, on] : armed) a[std::to_string(ch)] = on;
            j["armed"] = a;
        }
        return j;
    }
    void report(std::string_view state, const std::string& detail) {
        last_state = std::string(state);
        last_detail = detail;
        connected = state == "connected";
        host().health(state, detail, health_info());
    }
    void refresh_health() {
        if (!last_state.empty()) host().health(last_state, last_detail, health_info());
    }

    // ---- lifecycle ---------------------------------------------------------
    void start() {
        if (running) return;
        running = true;
        ++generation;
        rings.load();
        auto on_events = [this](std::vector<Event>& evs) { publish_all(evs); };
        auto on_health = [this](std::string_view s, const std::string& d) { report(s, d); };
        auto on_connected = [this](bool reconnect) { on_connect(reconnect); };
        auto on_count = [this](std::string_view c) { host().count(c); };
        auto on_log = [this](bool warn, const std::string& m) { warn ? host().warn(m) : host().info(m); };
        if (cfg.dhip) {
            DhipSession::Options o;
            o.host = cfg.host;
            o.port = cfg.dhip_port;
            o.user = cfg.user;
            o.password = cfg.password;
            o.reconnect_max = cfg.reconnect_max;
            o.auth_retry = cfg.auth_retry;
            o.auth_retry_max = cfg.auth_retry_max;
            dhip = std::make_unique<DhipSession>(io, o, DhipSession::Callbacks{on_events, on_health, on_connected, on_count, on_log});
            dhip->start();
        } else {
            CgiSession::Options o;
            o.base_url = cfg.url;
            o.credentials = credentials();
            o.heartbeat = cfg.heartbeat;
            o.reconnect_max = cfg.reconnect_max;
            o.auth_retry = cfg.auth_retry;
            o.auth_retry_max = cfg.auth_retry_max;
            cgi = std::make_unique<CgiSession>(io, *http, o, CgiSession::Callbacks{on_events, on_health, on_connected, on_count, on_log});
            cgi->start();
        }
    }

    void stop() {
        running = false;
        ++generation;
        if (cgi) cgi->stop();
        if (dhip) dhip->stop();
        connected = false;
    }

    // ---- CGI requests ------------------------------------------------------
    // GET base_url + target; `done` runs on the io thread unless the device stopped meanwhile.
    void get(const std::string& target, std::function<void(http::Response)> done) {
        http::Request req;
        req.url = cfg.url + target;
        req.credentials = credentials();
        uint64_t gen = generation;
        std::weak_ptr<int> token = alive;
        http->request(std::move(req), [this, token, gen, done = std::move(done)](http::Response r) {
            if (token.expired() || gen != generation) return;
            done(std::move(r));
        });
    }

    void on_connect(bool reconnect) {
        // Model/serial, then channel titles, then (VTO) the missed rings.
        get("/cgi-bin/magicBox.cgi?action=getSystemInfo", [this, reconnect](http::Response r) {
            if (r.ok()) {
                info = parse_system_info(r.body);
                refresh_health();
            } else {
                host().debug("getSystemInfo: " + http::describe(r));
            }
            get("/cgi-bin/configManager.cgi?action=getConfig&name=ChannelTitle", [this, reconnect](http::Response r) {
                if (r.ok()) device_titles = parse_channel_titles(r.body);
                else host().debug("ChannelTitle: " + http::describe(r));
                if (wants_call_log()) fetch_call_log(reconnect);
            });
        });
    }

    bool wants_call_log() const {
        if (cfg.missed_rings == "true") return true;
        if (cfg.missed_rings == "false") return false;
        return cfg.dhip || info.model.rfind("VTO", 0) == 0;
    }

    void fetch_call_log(bool /*reconnect*/) {
        get("/cgi-bin/recordFinder.cgi?action=find&name=VideoTalkLog", [this](http::Response r) {
            if (!r.ok()) {
                host().debug("VideoTalkLog: " + http::describe(r));
                return;
            }
            auto now_s = Instance::now_ns() / 1000000000;
            for (const auto& rec : rings.select(parse_call_log(r.body), now_s)) {
                Event e;
                e.type = "doorbell";
                e.code = "VideoTalkLog";
                e.state = State::pulse;
                e.channel = 1;
                e.time_ns = rec.create_time * 1000000000LL;
                e.attrs["replayed"] = "true";
                e.attrs["end_state"] = rec.end_state;
                if (!rec.peer.empty()) e.attrs["caller"] = rec.peer;
                if (!rec.rec_no.empty()) e.attrs["record"] = rec.rec_no;
                host().count("missed_rings_replayed");
                publish_one(std::move(e), /*live=*/false);
            }
        });
    }

    // ---- events ------------------------------------------------------------
    void publish_all(std::vector<Event>& evs) {
        for (auto& e : evs) {
            if (!cfg.codes.empty() && !cfg.codes.count(e.code)) continue;
            publish_one(std::move(e), true);
        }
    }

    void publish_one(Event e, bool live) {
        e.source = self.name();
        e.module = "dahua";
        e.received_ns = Instance::now_ns();
        if (e.time_ns == 0) e.time_ns = e.received_ns;
        if (e.channel > 0) {
            auto it = cfg.channels.find(e.channel);
            if (it != cfg.channels.end()) e.attrs["channel_name"] = it->second;
            else if (auto dt = device_titles.find(e.channel); dt != device_titles.end())
                e.attrs["channel_name"] = dt->second;
        }
        if (live && e.type == "doorbell" && e.state != State::stop) rings.seen_live(e.time_ns / 1000000000);
        host().count("events");
        bool snap = e.state != State::stop && (cfg.snapshot_on.count(e.type) || cfg.snapshot_on.count(e.code));
        if (!snap) return host().publish(e);
        int ch = e.channel > 0 ? e.channel : 1;
        auto held = std::make_shared<Event>(std::move(e));
        get("/cgi-bin/snapshot.cgi?channel=" + std::to_string(ch), [this, held](http::Response r) {
            if (r.ok() && !r.body.empty()) {
                held->attachment_mime = std::string(r.header("Content-Type").value_or("image/jpeg"));
                held->attachment.assign(r.body.begin(), r.body.end());
                host().count("snapshots");
            } else {
                held->attrs["snapshot_error"] = http::describe(r);
                host().count("snapshot_errors");
            }
            host().publish(*held);
        });
    }

    // ---- actions -----------------------------------------------------------
    void action(Call& call) {
        const auto& a = call.action;
        if (a == "snapshot") return snapshot(call);
        if (a == "open_door") return open_door(call);
        if (a == "set_motion_detection") {
            int ch = channel_param(call.params);
            bool on = call.params.boolean("enabled");
            return set_config("MotionDetect[" + std::to_string(ch - 1) + "].Enable=" + (on ? "true" : "false"), call,
                              nlohmann::json{{"channel", ch}, {"enabled", on}}, nullptr);
        }
        if (a == "arm" || a == "disarm") {
            int ch = channel_param(call.params);
            bool arm = a == "arm";
            // DisableLinkage.Enable=true silences the alarm actions (disarmed).
            return set_config("DisableLinkage[" + std::to_string(ch - 1) + "].Enable=" + (arm ? "false" : "true"), call,
                              nlohmann::json{{"channel", ch}, {"armed", arm}}, [this, ch, arm] {
                                  armed[ch] = arm;
                                  save_armed();
                                  refresh_health();
                              });
        }
        call.reply.fail(PL_ERR_UNKNOWN_ACTION, "unknown action '" + a + "'");
    }

    void set_config(const std::string& assignment, Call& call, nlohmann::json result, std::function<void()> on_ok) {
        Reply reply = call.reply;
        get("/cgi-bin/configManager.cgi?action=setConfig&" + assignment,
            [reply, result = std::move(result), on_ok = std::move(on_ok)](http::Response r) {
                if (!r.ok()) return reply.fail(status_of(r), "setConfig: " + http::describe(r));
                if (!is_ok_reply(r.body)) return reply.fail(PL_ERR_PERMANENT, "setConfig: the device did not answer OK");
                if (on_ok) on_ok();
                reply.ok(result);
            });
    }

    void open_door(Call& call) {
        int ch = channel_param(call.params);
        Reply reply = call.reply;
        if (cfg.dhip) {
            if (!dhip) return reply.fail(PL_ERR_RETRY, "not started");
            return dhip->open_door(ch - 1, ch - 1, [reply, ch](bool ok, const std::string& detail) {
                if (ok) reply.ok(nlohmann::json{{"channel", ch}, {"via", "dhip"}});
                else reply.fail(PL_ERR_RETRY, detail);
            });
        }
        std::string user_id = call.params.string("user_id", "101");
        for (char c : user_id)
            if (!std::isalnum(static_cast<unsigned char>(c))) throw ConfigError("user_id", "must be alphanumeric");
        get("/cgi-bin/accessControl.cgi?action=openDoor&channel=" + std::to_string(ch) + "&UserID=" + user_id +
                "&Type=Remote",
            [reply, ch](http::Response r) {
                if (!r.ok()) return reply.fail(status_of(r), "openDoor: " + http::describe(r));
                if (!is_ok_reply(r.body)) return reply.fail(PL_ERR_PERMANENT, "openDoor: the device did not answer OK");
                reply.ok(nlohmann::json{{"channel", ch}, {"via", "cgi"}});
            });
    }

    void snapshot(Call& call) {
        int ch = channel_param(call.params);
        Reply reply = call.reply;
        get("/cgi-bin/snapshot.cgi?channel=" + std::to_string(ch), [this, reply, ch](http::Response r) {
            if (!r.ok()) return reply.fail(status_of(r), "snapshot: " + http::describe(r));
            if (r.body.empty()) return reply.fail(PL_ERR_RETRY, "snapshot: empty image");
            fs::path dir = cfg.snapshot_dir.empty() ? fs::path(host().state_dir()) / "snapshots" : fs::path(cfg.snapshot_dir);
            std::error_code ec;
            fs::create_directories(dir, ec);
            fs::path file = dir / (self.name() + "_ch" + std::to_string(ch) + "_" + timestamp_for_file(Instance::now_ns()) + ".jpg");
            {
                std::ofstream out(file, std::ios::binary | std::ios::trunc);
                out.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
                if (!out.flush()) return reply.fail(PL_ERR_INTERNAL, "cannot write " + file.string());
            }
            host().count("snapshots");
            reply.ok(nlohmann::json{{"channel", ch},
                                    {"path", file.string()},
                                    {"size", r.body.size()},
                                    {"mime", std::string(r.header("Content-Type").value_or("image/jpeg"))}});
        });
    }

    // ---- remembered arm state ----------------------------------------------
    fs::path armed_file() const { return fs::path(host().state_dir()) / "armed.json"; }
    void load_armed() {
        if (host().state_dir().empty()) return;
        std::ifstream in(armed_file());
        if (!in) return;
        auto j = nlohmann::json::parse(in, nullptr, false);
        if (!j.is_object()) return;
        for (auto it = j.begin(); it != j.end(); ++it) {
            try {
                if (it.value().is_boolean()) armed[std::stoi(it.key())] = it.value().get<bool>();
            } catch (...) {
            }
        }
    }
    void save_armed() {
        if (host().state_dir().empty()) return;
        nlohmann::json j = nlohmann::json::object();
        for (auto& [ch, on] : armed) j[std::to_string(ch)] = on;
        std::error_code ec;
        fs::create_directories(armed_file().parent_path(), ec);
        auto tmp = armed_file();
        tmp += ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            out << j.dump() << "\n";
            if (!out.flush()) return;
        }
        fs::rename(tmp, armed_file(), ec);
    }
};

Device::Device(Instance& self, boost::asio::io_context& io, DeviceConfig config)
    : impl_(std::make_unique<Impl>(self, io, std::move(config))) {}
Device::~Device() = default;
void Device::start() { impl_->start(); }
void Device::stop() { impl_->stop(); }
void Device::action(Call& call) { impl_->action(call); }

} // namespace passerelle::dahua
