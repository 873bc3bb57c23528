#include "jsonrpc.hpp"

#include <passerelle/utf8.hpp>

namespace passerelle::jeedom {

std::string build_request(uint64_t id, std::string_view method, const nlohmann::json& params,
                          std::string_view apikey, std::string_view plugin) {
    nlohmann::json p = params.is_object() ? params : nlohmann::json::object();
    p["apikey"] = std::string(apikey);
    if (!plugin.empty()) p["plugin"] = std::string(plugin);
    nlohmann::json body{{"jsonrpc", "2.0"}, {"id", id}, {"method", std::string(method)}, {"params", std::move(p)}};
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Verdict verdict_of_code(int64_t code) {
    Verdict v;
    switch (code) {
    case 1:
    case 2: v = verdict(http::Verdict::pause); break;
    case 602:
    case 701:
    case 702: v = stale_verdict({}); break;
    default: v = verdict(http::Verdict::give_up); break;
    }
    v.code = code;
    return v;
}

namespace {
std::string snippet(std::string_view body) {
    std::string s = repair_utf8(body.substr(0, 120));
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return s;
}
} // namespace

RpcReply classify_reply(std::string_view body, std::string_view method) {
    RpcReply out;
    Verdict& v = out.verdict;
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        v.kind = http::Verdict::retry;
        v.message = "Jeedom " + std::string(method) + ": the reply is not JSON-RPC (" + snippet(body) + ")";
        return out;
    }
    auto err = j.find("error");
    if (err != j.end() && !err->is_null()) {
        int64_t code = -32000;
        std::string text;
        if (err->is_object()) {
            auto c = err->find("code");
            if (c != err->end()) {
                if (c->is_number_integer()) code = c->get<int64_t>();
                else if (c->is_string()) {
                    try {
                        code = std::stoll(c->get<std::string>());
                    } catch (...) {
                    }
                }
            }
            auto m = err->find("message");
            if (m != err->end() && m->is_string()) text = m->get<std::string>();
        } else if (err->is_string()) {
            text = err->get<std::string>();
        }
        v = verdict_of_code(code);
        v.message = "Jeedom " + std::string(method) + " error " + std::to_string(code) + ": " + snippet(text);
        if (code == 1 || code == 2) v.message += " (check apikey and plugin)";
        return out;
    }
    auto res = j.find("result");
    if (res == j.end()) {
        v.kind = http::Verdict::retry;
        v.message = "Jeedom " + std::string(method) + ": the reply has neither result nor error";
        return out;
    }
    v.kind = http::Verdict::ok;
    out.result = std::move(*res);
    return out;
}

} // namespace passerelle::jeedom
