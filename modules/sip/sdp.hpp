// SDP (RFC 4566) for one audio stream, and the offer/answer rules we follow
// (RFC 3264): keep the offerer's payload numbers, take the first offered codec
// we support (PCMU, PCMA), answer telephone-event with the offerer's payload type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sip {

struct SdpCodec {
    int pt = -1;
    std::string name;   // "PCMU", "telephone-event" (as sent)
    int rate = 8000;
    std::string fmtp;
};

struct SdpMedia {
    std::string type;        // "audio"
    uint16_t port = 0;
    std::string proto;       // "RTP/AVP"
    std::vector<int> pts;    // in the m= line's order
    std::vector<SdpCodec> codecs;  // one per pt, static ones filled in
    std::string connection;  // c= at media level, else the session's
    std::string direction = "sendrecv";
};

struct Sdp {
    std::string connection;  // session-level c= address
    std::vector<SdpMedia> media;
    const SdpMedia* audio() const;
};

// nullopt for garbage: no v=0, no audio line, bad numbers.
std::optional<Sdp> parse_sdp(std::string_view text);

enum class Codec { pcmu, pcma };
constexpr int static_pt(Codec c) { return c == Codec::pcmu ? 0 : 8; }

// What both sides agreed on for one call.
struct MediaPlan {
    std::string remote_addr;
    uint16_t remote_port = 0;
    Codec codec = Codec::pcmu;
    int codec_pt = 0;     // as the offerer numbered it
    int dtmf_pt = -1;     // telephone-event, -1 when not offered
};

struct AnswerResult {
    std::optional<MediaPlan> plan;  // nullopt: no common codec (answer 488)
    std::string sdp;
};

// Answer `offer` with our address and RTP port.
AnswerResult answer_offer(const Sdp& offer, const std::string& local_ip, uint16_t local_port, uint64_t session_id);

// Our offer: PCMU, PCMA, telephone-event (payload type `dtmf_pt`).
std::string make_offer(const std::string& local_ip, uint16_t local_port, uint64_t session_id, int dtmf_pt = 101);

// Reads the answer to our offer.
std::optional<MediaPlan> read_answer(const Sdp& answer);

} // namespace sip
