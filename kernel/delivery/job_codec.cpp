#include "delivery/job_codec.hpp"

#include <passerelle/event_json.hpp>

#include <nlohmann/json.hpp>

namespace passerelle::kernel {


namespace {

using passerelle::repair_utf8;

void put_string(std::string& out, std::string_view s) {
    if (is_valid_utf8(s)) append_json_string(out, s);
    else append_json_string(out, repair_utf8(s));
}

void put_field(std::string& out, std::string_view name, std::string_view value) {
    out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    put_string(out, value);
}

void put_int(std::string& out, std::string_view name, int64_t value) {
    out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    out += std::to_string(value);
}

} // namespace

std::string encode_job_json(const Job& job) {
    std::string out;
    out.reserve(320);
    out += "{\"v\":1";
    put_field(out, "action", job.action);
    put_field(out, "params", job.params_json); // kept as a string: round-trips byte for byte
    put_int(out, "max_age_ms", job.max_age_ms);
    put_int(out, "route", job.route);
    out += ",\"event\":{";
    if (job.event) {
        const Event& e = *job.event;
        out += "\"id\":";
        out += std::to_string(e.id);
        put_int(out, "time_ns", e.time_ns);
        put_int(out, "received_ns", e.received_ns);
        put_field(out, "source", e.source);
        put_field(out, "module", e.module);
        put_field(out, "type", e.type);
        put_field(out, "code", e.code);
        put_int(out, "channel", e.channel);
        put_field(out, "state", to_string(e.state));
        out += ",\"attrs\":{";
        bool first = true;
        for (const auto& [k, v] : e.attrs) {
            if (!first) out.push_back(',');
            first = false;
            put_string(out, k);
            out.push_back(':');
            put_string(out, v);
        }
        out.push_back('}');
        if (!e.attachment_mime.empty()) put_field(out, "attachment_mime", e.attachment_mime);
        if (!e.attachment_path.empty()) put_field(out, "attachment_path", e.attachment_path);
    }
    out += "}}";
    return out;
}

std::shared_ptr<const Job> decode_job(std::string_view json, const void* attachment, size_t attachment_size,
                                      std::string& error) {
    try {
        auto j = nlohmann::json::parse(json);
        if (!j.is_object() || j.value("v", 0) != 1) {
            error = "unknown outbox row format";
            return nullptr;
        }
        auto job = std::make_shared<Job>();
        job->action = j.value("action", "");
        job->params_json = j.value("params", "{}");
        job->max_age_ms = j.value("max_age_ms", int64_t{0});
        job->route = j.value("route", uint32_t{0});
        auto ev = std::make_shared<Event>();
        const auto& je = j.at("event");
        ev->id = je.value("id", uint64_t{0});
        ev->time_ns = je.value("time_ns", int64_t{0});
        ev->received_ns = je.value("received_ns", int64_t{0});
        ev->source = je.value("source", "");
        ev->module = je.value("module", "");
        ev->type = je.value("type", "");
        ev->code = je.value("code", "");
        ev->channel = je.value("channel", int32_t{0});
        if (!parse_state(je.value("state", "pulse"), ev->state)) ev->state = State::pulse;
        if (auto it = je.find("attrs"); it != je.end() && it->is_object())
            for (const auto& [k, v] : it->items())
                if (v.is_string()) ev->attrs.emplace(k, v.get<std::string>());
        ev->attachment_mime = je.value("attachment_mime", "");
        ev->attachment_path = je.value("attachment_path", "");
        if (attachment && attachment_size) {
            auto p = static_cast<const uint8_t*>(attachment);
            ev->attachment.assign(p, p + attachment_size);
        }
        job->event = std::move(ev);
        return job;
    } catch (const std::exception& e) {
        error = e.what();
        return nullptr;
    }
}

} // namespace passerelle::kernel
