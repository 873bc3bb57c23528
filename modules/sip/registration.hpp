// The registration state machine (RFC 3261 section 10), pure and driven by
// explicit time: it builds the REGISTER requests, reads the responses and says
// when to act next. The user agent sends what it returns, runs the
// retransmission timer, and calls on_time() at next_action().
//
//   INACTIVE -start-> REGISTERING -200-> REGISTERED -refresh (80%)-> REGISTERING ...
//   REGISTERING -403, or a re-challenge to fresh credentials-> FAILED (auth, backoff 30 s .. 10 min)
//   REGISTERING -timeout, 4xx-6xx-> FAILED (backoff) -> REGISTERING
//   REGISTERED -stop-> DEREGISTERING (REGISTER Expires: 0) -> INACTIVE
#pragma once

#include "account.hpp"
#include "sip_message.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace sip {

enum class RegState { inactive, registering, registered, deregistering, failed };
const char* to_string(RegState s);  // "INACTIVE"...

class Registration {
public:
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::chrono::seconds kFirstBackoff{30};
    static constexpr std::chrono::seconds kMaxBackoff{600};

    Registration(Account account, std::chrono::seconds expires, TokenSource tokens);

    // Each returns the REGISTER to send now, if any.
    std::optional<Message> start(time_point now);
    std::optional<Message> on_response(const Message& response, time_point now);
    std::optional<Message> on_timeout(time_point now);  // no answer to our REGISTER
    std::optional<Message> on_time(time_point now);     // at next_action(): refresh or retry
    std::optional<Message> stop();                      // un-REGISTER when registered

    RegState state() const { return state_; }
    const std::string& reason() const { return reason_; }
    bool auth_failed() const { return auth_failed_; }
    std::optional<time_point> next_action() const { return next_action_; }
    std::chrono::seconds granted() const { return granted_; }
    const std::string& call_id() const { return call_id_; }
    uint32_t cseq() const { return cseq_; }

private:
    Message build(std::chrono::seconds expires, bool with_cached_auth);
    std::optional<Message> fail(std::string reason, bool auth, time_point now);

    Account account_;
    std::chrono::seconds expires_;
    TokenSource tokens_;
    RegState state_ = RegState::inactive;
    std::string reason_;
    bool auth_failed_ = false;
    std::string call_id_;
    std::string from_tag_;
    uint32_t cseq_ = 0;
    std::optional<Message> challenge_;  // the last 401/407, answered again on refresh (nc+1)
    uint32_t nc_ = 0;
    bool fresh_credentials_ = false;    // the last request answered a challenge received just before
    std::chrono::seconds requested_{0};
    std::chrono::seconds granted_{0};
    std::chrono::seconds backoff_ = kFirstBackoff;
    std::optional<time_point> next_action_;
};

} // namespace sip
