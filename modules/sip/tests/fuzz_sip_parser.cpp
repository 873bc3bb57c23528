// libFuzzer: the SIP message, URI, SDP, RTP and DTMF parsers on arbitrary bytes.
#include "dtmf.hpp"
#include "rtp.hpp"
#include "sdp.hpp"
#include "sip_message.hpp"
#include "sip_uri.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    auto r = sip::parse(s);
    if (r.message) {
        (void)r.message->serialize();
        for (const auto& v : r.message->get_all("Via")) (void)sip::header_param(v, "branch");
        (void)sip::parse_name_addr(r.message->value("From"));
        (void)sip::parse_uri(r.message->uri);
        (void)sip::parse_dtmf_info(r.message->value("Content-Type"), r.message->body);
    }
    if (auto sdp = sip::parse_sdp(s)) {
        auto a = sip::answer_offer(*sdp, "127.0.0.1", 20000, 1);
        if (a.plan) (void)sip::parse_sdp(a.sdp);
        (void)sip::read_answer(*sdp);
    }
    (void)sip::parse_rtp({data, size});
    (void)sip::parse_name_addr(s);
    sip::Rfc4733Receiver rx;
    (void)rx.on_packet({data, size}, 1, 1, {});
    return 0;
}
