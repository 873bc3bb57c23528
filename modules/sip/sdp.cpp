#include "sdp.hpp"

#include "sip_message.hpp"

#include <charconv>

namespace sip {
namespace {

bool to_int(std::string_view s, int& out) {
    s = trim(s);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    size_t pos = 0;
    while (pos < s.size()) {
        size_t start = s.find_first_not_of(' ', pos);
        if (start == std::string_view::npos) break;
        size_t end = s.find(' ', start);
        out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) break;
        pos = end;
    }
    return out;
}

std::string c_address(std::string_view value) {
    auto w = words(value);  // IN IP4 addr
    if (w.size() < 3) return {};
    std::string_view a = w[2];
    if (size_t slash = a.find('/'); slash != std::string_view::npos) a = a.substr(0, slash);
    return std::string(a);
}

SdpCodec* codec_for(SdpMedia& m, int pt) {
    for (auto& c : m.codecs)
        if (c.pt == pt) return &c;
    return nullptr;
}

} // namespace

const SdpMedia* Sdp::audio() const {
    for (const auto& m : media)
        if (m.type == "audio" && m.port != 0) return &m;
    return nullptr;
}

std::optional<Sdp> parse_sdp(std::string_view text) {
    if (text.size() > 16384) return std::nullopt;
    Sdp sdp;
    bool version = false;
    SdpMedia* cur = nullptr;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() < 2 || line[1] != '=') continue;
        char type = line[0];
        std::string_view value = line.substr(2);
        switch (type) {
        case 'v':
            if (trim(value) != "0") return std::nullopt;
            version = true;
            break;
        case 'c':
            if (cur) cur->connection = c_address(value);
            else sdp.connection = c_address(value);
            break;
        case 'm': {
            auto w = words(value);
            if (w.size() < 3 || sdp.media.size() >= 16) return std::nullopt;
            SdpMedia m;
            m.type = std::string(w[0]);
            std::string_view port = w[1];
            if (size_t slash = port.find('/'); slash != std::string_view::npos) port = port.substr(0, slash);
            int p = 0;
            if (!to_int(port, p) || p < 0 || p > 65535) return std::nullopt;
            m.port = static_cast<uint16_t>(p);
            m.proto = std::string(w[2]);
            for (size_t i = 3; i < w.size() && m.pts.size() < 64; ++i) {
                int pt = 0;
                if (!to_int(w[i], pt) || pt < 0 || pt > 127) continue;  // non-RTP formats are ignored
                m.pts.push_back(pt);
                SdpCodec c;
                c.pt = pt;
                if (pt == 0) c.name = "PCMU";
                if (pt == 8) c.name = "PCMA";
                m.codecs.push_back(c);
            }
            sdp.media.push_back(std::move(m));
            cur = &sdp.media.back();
            break;
        }
        case 'a': {
            if (!cur) break;
            if (value == "sendrecv" || value == "sendonly" || value == "recvonly" || value == "inactive") {
                cur->direction = std::string(value);
                break;
            }
            size_t colon = value.find(':');
            if (colon == std::string_view::npos) break;
            std::string_view attr = value.substr(0, colon), rest = value.substr(colon + 1);
            size_t sp = rest.find(' ');
            if (sp == std::string_view::npos) break;
            int pt = 0;
            if (!to_int(rest.substr(0, sp), pt)) break;
            SdpCodec* c = codec_for(*cur, pt);
            if (!c) break;
            if (attr == "rtpmap") {
                std::string_view enc = trim(rest.substr(sp + 1));
                size_t slash = enc.find('/');
                c->name = std::string(enc.substr(0, slash));
                if (slash != std::string_view::npos) {
                    std::string_view r = enc.substr(slash + 1);
                    r = r.substr(0, r.find('/'));
                    int rate = 0;
                    if (to_int(r, rate)) c->rate = rate;
                }
            } else if (attr == "fmtp") {
                c->fmtp = std::string(trim(rest.substr(sp + 1)));
            }
            break;
        }
        default:
            break;
        }
    }
    if (!version) return std::nullopt;
    for (auto& m : sdp.media)
        if (m.connection.empty()) m.connection = sdp.connection;
    return sdp;
}

namespace {

std::string session_header(const std::string& ip, uint64_t id) {
    std::string ipv = ip.find(':') != std::string::npos ? "IP6" : "IP4";
    return "v=0\r\no=passerelle " + std::to_string(id) + " " + std::to_string(id) + " IN " + ipv + " " + ip +
           "\r\ns=passerelle\r\nc=IN " + ipv + " " + ip + "\r\nt=0 0\r\n";
}

} // namespace

AnswerResult answer_offer(const Sdp& offer, const std::string& local_ip, uint16_t local_port, uint64_t session_id) {
    AnswerResult r;
    const SdpMedia* a = offer.audio();
    if (!a || a->connection.empty()) return r;
    MediaPlan plan;
    plan.remote_addr = a->connection;
    plan.remote_port = a->port;
    const SdpCodec* chosen = nullptr;
    const SdpCodec* dtmf = nullptr;
    for (const auto& c : a->codecs) {
        if (c.rate != 8000) continue;
        if (!chosen && (iequals(c.name, "PCMU") || iequals(c.name, "PCMA"))) chosen = &c;
        if (!dtmf && iequals(c.name, "telephone-event")) dtmf = &c;
    }
    if (!chosen) return r;
    plan.codec = iequals(chosen->name, "PCMU") ? Codec::pcmu : Codec::pcma;
    plan.codec_pt = chosen->pt;
    std::string m = "m=audio " + std::to_string(local_port) + " RTP/AVP " + std::to_string(chosen->pt);
    std::string attrs = "a=rtpmap:" + std::to_string(chosen->pt) + (plan.codec == Codec::pcmu ? " PCMU/8000\r\n" : " PCMA/8000\r\n");
    if (dtmf) {
        plan.dtmf_pt = dtmf->pt;
        m += " " + std::to_string(dtmf->pt);
        attrs += "a=rtpmap:" + std::to_string(dtmf->pt) + " telephone-event/8000\r\na=fmtp:" + std::to_string(dtmf->pt) + " 0-16\r\n";
    }
    // We send and receive (digits come in), whatever the offer said, unless it holds the call.
    std::string dir = "sendrecv";
    if (a->direction == "sendonly") dir = "recvonly";
    else if (a->direction == "recvonly") dir = "sendonly";
    else if (a->direction == "inactive") dir = "inactive";
    r.sdp = session_header(local_ip, session_id) + m + "\r\n" + attrs + "a=ptime:20\r\na=" + dir + "\r\n";
    r.plan = plan;
    return r;
}

std::string make_offer(const std::string& local_ip, uint16_t local_port, uint64_t session_id, int dtmf_pt) {
    std::string pt = std::to_string(dtmf_pt);
    return session_header(local_ip, session_id) + "m=audio " + std::to_string(local_port) + " RTP/AVP 0 8 " + pt +
           "\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:" + pt + " telephone-event/8000\r\na=fmtp:" +
           pt + " 0-16\r\na=ptime:20\r\na=sendrecv\r\n";
}

std::optional<MediaPlan> read_answer(const Sdp& answer) {
    const SdpMedia* a = answer.audio();
    if (!a || a->connection.empty()) return std::nullopt;
    MediaPlan plan;
    plan.remote_addr = a->connection;
    plan.remote_port = a->port;
    bool found = false;
    for (const auto& c : a->codecs) {
        if (!found && c.rate == 8000 && (iequals(c.name, "PCMU") || iequals(c.name, "PCMA"))) {
            plan.codec = iequals(c.name, "PCMU") ? Codec::pcmu : Codec::pcma;
            plan.codec_pt = c.pt;
            found = true;
        }
        if (plan.dtmf_pt < 0 && iequals(c.name, "telephone-event")) plan.dtmf_pt = c.pt;
    }
    if (!found) return std::nullopt;
    return plan;
}

} // namespace sip
