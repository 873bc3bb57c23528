// One call (a dialog with its RTP stream), incoming or outgoing. Owns its RTP
// socket, paces G.711 frames on absolute 20 ms deadlines, receives RFC 4733
// and INFO digits, publishes call / dtmf / dtmf_sequence events.
#pragma once

#include "audio.hpp"
#include "dtmf.hpp"
#include "frame_pacer.hpp"
#include "sdp.hpp"
#include "sip_message.hpp"
#include "transaction.hpp"

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sip {

class UserAgent;
struct Outcome;

class SipCall : public std::enable_shared_from_this<SipCall> {
public:
    using udp = boost::asio::ip::udp;
    enum class Direction { inbound, outbound };

    SipCall(UserAgent& ua, Direction dir, std::string call_id);
    ~SipCall();

    const std::string& call_id() const { return call_id_; }

    // Inbound: answer an INVITE (the UA checked limits and the source).
    void answer(const Message& invite, const udp::endpoint& from);  // 180 now, 200 after answer_after
    void on_invite_retransmission(const Message& invite, const udp::endpoint& from);
    void on_ack(const Message& ack);
    void on_cancel(const Message& cancel, const udp::endpoint& from);
    void on_bye(const Message& bye, const udp::endpoint& from);
    void on_info(const Message& info, const udp::endpoint& from);

    // Outbound: INVITE `target` and play `prompt`.
    void dial(const std::string& target_uri, std::shared_ptr<const Prompt> prompt, std::chrono::milliseconds ring_timeout,
              std::function<void(const Outcome&)> done);

    // Ends the call now (BYE if answered, CANCEL if ringing); reason for the event.
    void hangup(const std::string& reason);
    // Stops every timer and socket without signalling (UA stopping: after hangup()).
    void close();

private:
    void send_invite(std::optional<Message> challenge);
    void on_invite_response(const Message* r);
    void start_media();
    void schedule_frame();
    void send_frame();
    void receive_rtp();
    void on_digit(char digit, const char* method);
    void end_sequence();
    void arm_dtmf_timer();
    void send_in_dialog(const std::string& method, std::function<void(const Message*)> handler = {});
    void finish(const std::string& reason);
    void publish_call(const char* code, const std::string& reason);
    void report(bool ok, std::string outcome, int code, std::string detail);
    void send_answer(const std::vector<Header>& record_routes, const std::string& contact);
    void retransmit_2xx();

    UserAgent& ua_;
    Direction dir_;
    std::string call_id_;
    std::string caller_, callee_;
    bool answered_ = false, confirmed_ = false, ended_ = false, ringing_reported_ = false, announced_ = false;

    // Dialog state (RFC 3261 12).
    std::string local_uri_, local_tag_, remote_uri_, remote_tag_;
    std::string remote_target_;
    std::vector<std::string> route_set_;
    uint32_t local_cseq_ = 1;
    udp::endpoint remote_sip_;

    // Inbound INVITE transaction.
    std::optional<Message> invite_;
    std::string answer_sdp_;
    std::string last_response_;  // wire, answered again to a retransmitted INVITE
    std::unique_ptr<Retransmitter> ok_timer_;
    boost::asio::steady_timer sip_timer_;

    // Outbound INVITE.
    std::string target_;
    std::string invite_branch_;
    std::optional<Message> out_invite_;
    int auth_attempts_ = 0;
    std::chrono::milliseconds ring_timeout_{30000};
    boost::asio::steady_timer ring_timer_;
    std::function<void(const Outcome&)> done_;
    bool cancelled_ = false;
    bool played_all_ = false;

    // Media.
    udp::socket rtp_;
    uint16_t rtp_port_ = 0;
    std::optional<udp::endpoint> rtp_remote_;
    MediaPlan plan_;
    std::shared_ptr<const Prompt> prompt_;
    size_t frame_ = 0;
    bool prompt_done_ = false;
    uint16_t seq_ = 0;
    uint32_t ts_ = 0, ssrc_ = 0;
    bool first_packet_ = true;
    uint64_t hangup_slot_ = 0;  // hang up when this slot is reached (after the message), 0 = no
    std::optional<FramePacer> clock_;  // the 20 ms grid, from start_media()
    boost::asio::steady_timer pacer_;
    boost::asio::steady_timer max_timer_;
    std::vector<uint8_t> packet_;
    std::vector<uint8_t> rtp_buffer_;
    udp::endpoint rtp_from_;
    std::vector<uint8_t> silence_;

    // DTMF.
    Rfc4733Receiver rfc4733_;
    boost::asio::steady_timer dtmf_timer_;
    std::string sequence_;
    boost::asio::steady_timer menu_timer_;
};

} // namespace sip
