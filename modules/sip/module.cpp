// sip: a SIP user agent that registers, answers calls with a spoken message
// chosen by the caller's number, hears DTMF, places calls and sends MESSAGEs.
// The work is in user_agent.* (SIP over UDP) and call.* (dialog + RTP); this
// file declares the keys and actions and turns the config into a UaConfig.
#include "user_agent.hpp"

#include <passerelle/io_executor.hpp>
#include <passerelle/module.hpp>

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace {

using passerelle::ConfigError;
using passerelle::key;

uint16_t parse_port(std::string_view s, const char* key_name) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), p);
    if (ec != std::errc() || ptr != s.data() + s.size() || p == 0 || p > 65535)
        throw ConfigError(key_name, "bad port '" + std::string(s) + "'");
    return static_cast<uint16_t>(p);
}

class Sip final : public passerelle::Instance {
public:
    using executor_type = passerelle::IoExecutor;
    // RTP leaves every 20 ms from a timer on this thread: its loop may linger for
    // wake-up coalescing ([daemon] coalesce) 1 ms at most, or frames go out late.
    static constexpr std::chrono::microseconds max_coalesce{1000};

    static constexpr passerelle::ModuleInfo info{"sip", "1.0.0",
                                                 "SIP user agent: registers, answers with a spoken message, DTMF, calls, MESSAGE"};

    static constexpr pl_key_decl keys[] = {
        key("registrar", PL_KEY_STRING, nullptr,
            "Registrar and outbound proxy, e.g. sip:192.168.1.10:5060; without it the UA only takes direct calls"),
        key("user", PL_KEY_STRING, nullptr, "SIP user (extension) of the account: AOR user part and Contact", PL_KEY_REQUIRED),
        key("auth_user", PL_KEY_STRING, nullptr, "Digest user name when it differs from user (default: user)"),
        key("password", PL_KEY_STRING, nullptr, "Digest password (or password_file / ${ENV})", PL_KEY_SECRET),
        key("listen", PL_KEY_STRING, nullptr,
            "Local UDP ip:port; Contact and SDP use this address (a real address, never 0.0.0.0)", PL_KEY_REQUIRED),
        key("expires", PL_KEY_INT, "3600", "Registration expiry asked for, in seconds; refreshed at 80% of what is granted"),
        key("messages", PL_KEY_TABLE, nullptr,
            "Caller number -> text to speak or a .wav file; \"*\" is for every other caller"),
        key("voice", PL_KEY_STRING, "fr", "espeak-ng voice for the spoken messages (fr, en, de...)"),
        key("rtp_ports", PL_KEY_STRING, "16384-16482", "Local UDP port range for RTP, e.g. \"16384-16482\" (two ports per call)"),
        key("max_call", PL_KEY_DURATION, "60s", "Longest call; the UA hangs up after it"),
        key("answer_after", PL_KEY_DURATION, "200ms", "How long an incoming call rings before the automatic answer"),
        key("after_message", PL_KEY_STRING, "hangup", "After the message: hangup, or wait (silence until the caller hangs up)"),
        key("menu", PL_KEY_TABLE, nullptr,
            "DTMF sequence (ended by # or a pause) -> text or .wav said in reply; every sequence is a dtmf_sequence event"),
        key("menu_pause", PL_KEY_DURATION, "3s", "Silence that ends a DTMF sequence without #"),
        key("allowed_hosts", PL_KEY_STRING_LIST, nullptr,
            "IP addresses allowed to send requests besides the registrar's (\"*\": anyone; required without "
            "registrar); others get 403"),
        key("max_calls", PL_KEY_INT, "4", "Simultaneous calls; one more gets 486 Busy Here"),
        key("ring_timeout", PL_KEY_DURATION, "20s", "Default time an outgoing call rings before it is cancelled"),
    };

    static constexpr pl_action_decl actions[] = {
        {"call", "to, message, ring_timeout",
         "Calls `to` (number or sip: URI) through the registrar and plays `message` (text or .wav), then hangs up; "
         "answers with the outcome (answered, busy, no_answer, rejected + SIP code)"},
        {"message", "to, text", "Sends a SIP MESSAGE (text/plain;charset=UTF-8); 200/202 is success"},
    };
    // Calls and messages run side by side.
    static constexpr uint32_t max_inflight = 8;

    explicit Sip(const passerelle::Init& init) : Instance(init), config_(read_config(init.config)) {}

    ~Sip() override { stop_ua(); }

    void on_start() override {
        auto& io = static_cast<passerelle::IoExecutor&>(executor()).io();
        ua_ = std::make_shared<sip::UserAgent>(io, config_, host());
        try {
            ua_->start();
        } catch (const std::exception& e) {
            host().health("error", std::string("cannot listen: ") + e.what());
            host().error(std::string("cannot listen on ") + config_.account.local_ip + ":" +
                         std::to_string(config_.account.local_port) + ": " + e.what());
            ua_.reset();
        }
    }

    void on_stop() override { stop_ua(); }

    void on_action(passerelle::Call& call) override {
        if (call.action != "call" && call.action != "message") return Instance::on_action(call);
        if (!ua_) return call.reply.retry("the SIP user agent is not running");
        const std::string to = call.params.string("to");
        if (to.empty()) return call.reply.fail(PL_ERR_INVALID, "param 'to' is required");
        auto reply = call.reply;
        auto answer = [reply](const sip::Outcome& o) {
            nlohmann::json j{{"outcome", o.outcome}, {"call_id", o.call_id}};
            if (o.sip_code) j["sip_code"] = o.sip_code;
            if (!o.detail.empty()) j["detail"] = o.detail;
            if (o.ok) return reply.ok(j);
            std::string msg = o.outcome + (o.detail.empty() ? "" : ": " + o.detail);
            if (o.outcome == "timeout") return reply.retry(msg);
            reply.fail(PL_ERR_PERMANENT, msg);
        };
        if (call.action == "message") {
            ua_->send_message(to, call.params.string("text"), answer);
        } else {
            auto ring = call.params.duration("ring_timeout", config_.ring_timeout);
            ua_->place_call(to, call.params.string("message", std::string()), ring, answer);
        }
    }

private:
    void stop_ua() {
        if (!ua_) return;
        ua_->stop();
        ua_.reset();
    }

    static sip::UaConfig read_config(const passerelle::Fields& c) {
        sip::UaConfig u;
        auto& a = u.account;
        a.user = c.string("user");
        if (a.user.empty()) throw ConfigError("user", "must not be empty");
        a.auth_user = c.string("auth_user", a.user);
        a.password = c.string("password", std::string());
        if (c.has("registrar")) {
            std::string r = c.string("registrar");
            if (r.rfind("sip:", 0) != 0) r = "sip:" + r;
            a.registrar = sip::parse_uri(r);
            if (!a.registrar) throw ConfigError("registrar", "must be a SIP URI such as sip:192.168.1.10:5060");
        }
        std::string listen = c.string("listen");
        size_t colon = listen.rfind(':');
        if (colon == std::string::npos) throw ConfigError("listen", "must be ip:port, e.g. 192.168.1.20:5060");
        a.local_ip = listen.substr(0, colon);
        if (a.local_ip.size() > 2 && a.local_ip.front() == '[') a.local_ip = a.local_ip.substr(1, a.local_ip.size() - 2);
        boost::system::error_code ec;
        auto addr = boost::asio::ip::make_address(a.local_ip, ec);
        if (ec) throw ConfigError("listen", "'" + a.local_ip + "' is not an IP address");
        if (addr.is_unspecified())
            throw ConfigError("listen", "give the address the peers reach (it goes into Contact and SDP), not " + a.local_ip);
        a.local_port = parse_port(listen.substr(colon + 1), "listen");
        int64_t expires = c.integer("expires", 3600);
        if (expires < 30 || expires > 86400) throw ConfigError("expires", "must be between 30 and 86400 seconds");
        u.expires = std::chrono::seconds(expires);
        u.messages = c.table("messages");
        u.menu = c.table("menu");
        u.tts.voice = c.string("voice", std::string("fr"));
        for (char ch : u.tts.voice)
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '+' || ch == '_'))
                throw ConfigError("voice", "must be an espeak-ng voice name such as fr or en-us");
        std::string range = c.string("rtp_ports", std::string("16384-16482"));
        size_t dash = range.find('-');
        if (dash == std::string::npos) throw ConfigError("rtp_ports", "must be a range such as \"16384-16482\"");
        u.rtp_min = parse_port(range.substr(0, dash), "rtp_ports");
        u.rtp_max = parse_port(range.substr(dash + 1), "rtp_ports");
        if (u.rtp_max < u.rtp_min + 1) throw ConfigError("rtp_ports", "the range must hold at least two ports");
        u.max_call = c.duration("max_call", std::chrono::milliseconds(60000));
        if (u.max_call.count() <= 0) throw ConfigError("max_call", "must be positive");
        u.answer_after = c.duration("answer_after", std::chrono::milliseconds(200));
        if (u.answer_after.count() < 0 || u.answer_after > std::chrono::minutes(2))
            throw ConfigError("answer_after", "must be between 0 and 2 min");
        std::string after = c.string("after_message", std::string("hangup"));
        if (after != "hangup" && after != "wait") throw ConfigError("after_message", "must be \"hangup\" or \"wait\"");
        u.hangup_after_message = after == "hangup";
        u.menu_pause = c.duration("menu_pause", std::chrono::milliseconds(3000));
        u.ring_timeout = c.duration("ring_timeout", std::chrono::milliseconds(20000));
        u.allowed_hosts = c.list("allowed_hosts");
        // Requests are accepted only from the registrar and allowed_hosts (SIP scanners
        // probe every open 5060). Without a registrar, an empty list would accept nobody
        // (a UA that silently answers no call) or anybody (an open phone line): make the
        // user say which.
        if (!a.registrar && u.allowed_hosts.empty())
            throw ConfigError("allowed_hosts",
                              "required without registrar: name the hosts that may call, e.g. "
                              "allowed_hosts = [\"192.168.1.108\"] (the doorbell), or allowed_hosts = [\"*\"] "
                              "to accept requests from anyone");
        for (const auto& h : u.allowed_hosts) {
            if (h == "*") continue;
            boost::asio::ip::make_address(h, ec);
            if (ec) throw ConfigError("allowed_hosts", "'" + h + "' is not an IP address");
        }
        int64_t max_calls = c.integer("max_calls", 4);
        if (max_calls < 1 || max_calls > 1000) throw ConfigError("max_calls", "must be between 1 and 1000");
        u.max_calls = static_cast<int>(max_calls);
        if (u.rtp_max - u.rtp_min + 1 < 2 * max_calls)
            throw ConfigError("rtp_ports", "too small for max_calls (two ports per call)");
        return u;
    }

    sip::UaConfig config_;
    std::shared_ptr<sip::UserAgent> ua_;
};

} // namespace

PL_DEFINE_MODULE(Sip)
