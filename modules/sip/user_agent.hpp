// The SIP user agent of one instance, on the module's Asio io_context (UDP):
// owns the SIP socket, dispatches requests and responses, runs client
// transactions (retransmission timers), the registration, and the calls.
// Only module.cpp and call.cpp include this header (it pulls in Asio).
#pragma once

#include "account.hpp"
#include "audio.hpp"
#include "registration.hpp"
#include "sip_message.hpp"
#include "transaction.hpp"
#include "tts.hpp"

#include <passerelle/module.hpp>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sip {

class SipCall;

struct UaConfig {
    Account account;
    std::chrono::seconds expires{3600};
    std::map<std::string, std::string> messages;  // caller -> text or .wav ("*" default)
    std::map<std::string, std::string> menu;      // digit sequence -> reply text or .wav
    TtsOptions tts;
    uint16_t rtp_min = 16384, rtp_max = 16482;
    std::chrono::milliseconds max_call{60000};
    std::chrono::milliseconds answer_after{200};  // ring before the automatic answer
    bool hangup_after_message = true;
    std::vector<std::string> allowed_hosts;       // IP addresses; "*" accepts everyone
    int max_calls = 4;
    std::chrono::milliseconds menu_pause{3000};   // a sequence ends with '#' or this silence
    std::chrono::milliseconds ring_timeout{30000};
};

// The outcome of an outgoing call or MESSAGE, reported to the action's caller.
struct Outcome {
    bool ok = false;
    std::string outcome;   // answered, busy, no_answer, rejected, failed
    int sip_code = 0;
    std::string detail;
    std::string call_id;
};

class UserAgent : public std::enable_shared_from_this<UserAgent> {
public:
    using udp = boost::asio::ip::udp;
    using ResponseHandler = std::function<void(const Message* response)>;  // nullptr: timeout

    UserAgent(boost::asio::io_context& io, UaConfig config, passerelle::Host host);
    ~UserAgent();

    void start();  // binds (throws on failure), synthesizes prompts in the background, registers
    void stop();   // un-registers, hangs up every call, closes sockets; no callback runs after

    // Actions.
    void place_call(const std::string& to, const std::string& message, std::chrono::milliseconds ring_timeout,
                    std::function<void(const Outcome&)> done);
    void send_message(const std::string& to, const std::string& text, std::function<void(const Outcome&)> done);

    // For calls.
    boost::asio::io_context& io() { return io_; }
    const UaConfig& config() const { return config_; }
    const passerelle::Host& host() const { return host_; }
    bool running() const { return running_; }
    std::string token() { return tokens_(); }
    // Sends a request in a client transaction; Via (new branch) is added here.
    // The handler sees every response (1xx too) and nullptr on timeout. Returns the branch.
    // `branch` reuses an INVITE's branch (its CANCEL); empty: a new one.
    std::string send_request(Message request, const udp::endpoint& to, ResponseHandler handler, std::string branch = {});
    void send_raw(const std::string& wire, const udp::endpoint& to);
    void send_response(const Message& request, int code, const std::string& reason, const udp::endpoint& to,
                       const std::string& to_tag = {}, const std::vector<Header>& extra = {}, const std::string& body = {});
    Message make_response(const Message& request, int code, const std::string& reason, const std::string& to_tag) const;
    std::optional<udp::endpoint> resolve(const Uri& uri);
    std::optional<udp::endpoint> outbound_target(const Uri& request_uri);  // the registrar, else the URI's host
    std::optional<uint16_t> allocate_rtp_port(udp::socket& socket);
    void release_rtp_port(uint16_t port) { rtp_in_use_.erase(port); }
    std::shared_ptr<const Prompt> prompt_for_caller(const std::string& caller) const;
    std::shared_ptr<const Prompt> menu_reply(const std::string& sequence) const;
    void call_ended(const std::string& call_id);
    void publish(passerelle::Event e) const;

    size_t active_calls() const { return calls_.size(); }

private:
    struct ClientTx {
        Message request;
        std::string wire;
        udp::endpoint to;
        ResponseHandler handler;
        std::unique_ptr<Retransmitter> timer;
        std::unique_ptr<boost::asio::steady_timer> asio_timer;
        bool final_seen = false;
    };

    struct MessageJob {
        Message request;
        udp::endpoint to;
        std::function<void(const Outcome&)> done;
        std::string call_id;
        int attempts = 0;
    };
    void message_attempt(std::shared_ptr<MessageJob> job);
    void receive();
    void on_datagram(std::size_t n);
    void on_request(const Message& m);
    void on_response(const Message& m);
    bool allowed(const udp::endpoint& from) const;
    void arm(const std::string& branch);
    void register_send(std::optional<Message> m);
    void registration_changed(RegState before);
    void schedule_registration();
    void synthesize_prompts();
    std::string target_uri(const std::string& to) const;

    boost::asio::io_context& io_;
    UaConfig config_;
    passerelle::Host host_;
    TokenSource tokens_;
    udp::socket socket_;
    udp::endpoint from_;
    std::vector<char> buffer_;
    bool running_ = false;
    std::map<std::string, ClientTx> transactions_;  // by "branch METHOD"
    std::optional<Registration> registration_;
    boost::asio::steady_timer registration_timer_;
    std::string registration_branch_;
    std::map<std::string, std::shared_ptr<SipCall>> calls_;  // by Call-ID
    std::set<uint16_t> rtp_in_use_;
    std::set<std::string> allowed_ips_;
    bool allow_all_ = false;
    // Prompts, keyed by their text (or .wav path); filled by a background thread.
    std::map<std::string, std::shared_ptr<const Prompt>> prompts_;
    std::vector<std::thread> workers_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace sip
