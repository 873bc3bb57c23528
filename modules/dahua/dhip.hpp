// DHIP: the JSON-RPC protocol of Dahua VTO doorbells and many IPCs on TCP port 5000.
// Every message is a 32-byte little-endian header then a JSON body:
//   off 0  u32 header size (0x20)   off 4  "DHIP"
//   off 8  u32 session id           off 12 u32 request id
//   off 16 u64 body length          off 24 u64 body length (repeated)
// Framing is by length only (the JSON may contain anything); lengths are capped.
// Login is two steps: global.login with the user name returns an error carrying
// realm/random and a session; the second global.login sends
//   MD5_upper(user ":" random ":" MD5_upper(user ":" realm ":" password)).
// Everything here is pure; the session (later) owns the socket and the timers.
#pragma once

#include <passerelle/event.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::dahua::dhip {

inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::uint16_t kDefaultPort = 5000;

struct Frame {
    uint32_t session = 0;
    uint32_t id = 0;
    std::string body; // JSON text, as received (often ends with '\n')
};

// Header + body.
std::string encode_frame(uint32_t session, uint32_t id, std::string_view body);

// Incremental decoder: feed arbitrary chunks, get whole frames. A bad header
// cannot be resynchronized (there is no delimiter): the decoder then fails for
// good and the session must reconnect.
class FrameDecoder {
public:
    explicit FrameDecoder(std::size_t max_body = 1024 * 1024) : max_body_(max_body) {}
    // false once failed (error() says why); frames decoded before the failure are kept.
    bool feed(std::string_view bytes, std::vector<Frame>& out);
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    std::size_t buffered() const { return buf_.size(); }
    void reset() { buf_.clear(); error_.clear(); }

private:
    std::size_t max_body_;
    std::string buf_;
    std::string error_;
};

// The two-step login hash (uppercase hex MD5).
std::string md5_upper_hex(std::string_view data);
std::string login_hash(std::string_view user, std::string_view password, std::string_view realm,
                       std::string_view random);

// A parsed reply or notification (any message with a JSON object body).
struct Message {
    std::string method;                // "" for replies
    std::optional<int64_t> id;
    std::optional<int64_t> session;
    std::optional<bool> result_bool;   // "result": true/false
    std::optional<int64_t> result_int; // "result": 123 (e.g. an object id)
    std::optional<int64_t> error_code;
    std::string error_message;
    std::string params;                // raw JSON text of "params" ("" when absent)
};
std::optional<Message> parse_message(std::string_view json);

struct LoginChallenge {
    uint32_t session = 0;
    std::string realm;
    std::string random;
    std::string encryption; // "Default" is the only one login_hash implements
};
// From the reply to step 1 (error 268632079 "login challenge" with params).
std::optional<LoginChallenge> parse_login_challenge(std::string_view json);

// JSON bodies of the requests (frame them with encode_frame(session, id, body)).
std::string login_step1(uint32_t id, std::string_view user);
std::string login_step2(uint32_t id, const LoginChallenge& challenge, std::string_view user,
                        std::string_view password);
std::string attach_events(uint32_t id, uint32_t session, const std::vector<std::string>& codes = {"All"});
std::string keep_alive(uint32_t id, uint32_t session, int timeout_seconds = 60);
// Door opening is three calls: get an object for the channel, open, release it.
std::string access_control_instance(uint32_t id, uint32_t session, int channel = 0);
std::string open_door(uint32_t id, uint32_t session, int64_t object, int door_index = 0,
                      std::string_view short_number = "");
std::string access_control_destroy(uint32_t id, uint32_t session, int64_t object);

// client.notifyEventStream -> events mapped exactly as the CGI stream maps them.
// Returns nullopt when the message is not a notifyEventStream.
std::optional<std::vector<Event>> decode_event_stream(std::string_view json);

} // namespace passerelle::dahua::dhip
