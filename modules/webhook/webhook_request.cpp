#include "webhook_request.hpp"

#include <passerelle/event_json.hpp>
#include <passerelle/http/url.hpp>

#include <algorithm>
#include <cctype>

namespace webhook {

using passerelle::ConfigError;

namespace {

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

bool known_method(const std::string& m) {
    return m == "POST" || m == "GET" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

bool sends_body(const std::string& m) { return m == "POST" || m == "PUT" || m == "PATCH"; }

Escape body_escape(std::string_view content_type) {
    if (content_type.find("json") != std::string_view::npos) return Escape::json;
    if (content_type.find("x-www-form-urlencoded") != std::string_view::npos) return Escape::url;
    return Escape::none;
}

bool has_header(const passerelle::http::Headers& h, std::string_view name) {
    return passerelle::http::find_header(h, name).has_value();
}

} // namespace

std::string safe_origin(std::string_view url) {
    auto u = passerelle::http::parse_url(url);
    return u ? u->origin() : std::string("(invalid url)");
}

Settings read_settings(const passerelle::Fields& config) {
    Settings s;
    try {
        s.url = EventTemplate::compile(config.string("url"));
    } catch (const TemplateError& e) {
        throw ConfigError("url", e.what());
    }
    if (!passerelle::http::parse_url(s.url.render_sample()))
        throw ConfigError("url", "must be an http:// or https:// URL such as \"http://nodered.local:1880/passerelle\" "
                                 "(no user:password@ in it: use auth, user and password)");

    s.method = upper(config.string("method", "POST"));
    if (!known_method(s.method)) throw ConfigError("method", "must be POST, GET, PUT, PATCH or DELETE");

    for (const auto& [name, value] : config.table("headers")) {
        if (name.empty() || name.find_first_of(" :\r\n") != std::string::npos)
            throw ConfigError("headers." + name, "is not a valid header name");
        if (value.find_first_of("\r\n") != std::string::npos)
            throw ConfigError("headers." + name, "must be one line");
        s.headers.push_back({name, value});
    }

    const std::string auth = config.string("auth", "none");
    if (auth == "none") s.auth = Auth::none;
    else if (auth == "basic") s.auth = Auth::basic;
    else if (auth == "bearer") s.auth = Auth::bearer;
    else if (auth == "digest") s.auth = Auth::digest;
    else throw ConfigError("auth", "must be none, basic, bearer or digest");
    s.user = config.string("user", "");
    s.password = config.string("password", "");
    s.token = config.string("token", "");
    if ((s.auth == Auth::basic || s.auth == Auth::digest) && s.user.empty())
        throw ConfigError("user", "is required with auth = \"" + auth + "\"");
    if (s.auth == Auth::bearer && s.token.empty())
        throw ConfigError("token", "is required with auth = \"bearer\" (or token_file, or \"${ENV_VAR}\")");
    if (s.auth == Auth::bearer && s.token.find_first_of("\r\n") != std::string::npos)
        throw ConfigError("token", "must be one line");
    if (s.auth != Auth::none && has_header(s.headers, "Authorization"))
        throw ConfigError("headers.Authorization", "conflicts with auth = \"" + auth + "\"; keep one of them");

    if (config.has("body")) {
        if (!sends_body(s.method)) throw ConfigError("body", "is only sent with POST, PUT or PATCH");
        try {
            s.body = EventTemplate::compile(config.string("body"));
        } catch (const TemplateError& e) {
            throw ConfigError("body", e.what());
        }
    }
    s.content_type = config.string("content_type", "application/json");
    if (s.content_type.find_first_of("\r\n") != std::string::npos) throw ConfigError("content_type", "must be one line");

    s.timeout = config.duration("timeout", std::chrono::milliseconds(10'000));
    if (s.timeout.count() <= 0 || s.timeout > std::chrono::minutes(10))
        throw ConfigError("timeout", "must be between 1ms and 10m");
    s.verify_tls = config.boolean("verify_tls", true);
    s.ca_file = config.string("ca_file", "");
    return s;
}

passerelle::http::Request build_request(const Settings& s, const passerelle::Event& e, const passerelle::Fields& params) {
    passerelle::http::Request req;
    req.method = s.method;
    if (params.has("method")) {
        req.method = upper(params.string("method"));
        if (!known_method(req.method)) throw RequestError("route param method must be POST, GET, PUT, PATCH or DELETE");
    }
    // The route's other params, for {params.NAME} in the instance's templates.
    EventTemplate::Params values;
    for (const auto& [k, v] : params.json().items()) {
        if (v.is_string()) values.emplace(k, v.get<std::string>());
        else if (v.is_number() || v.is_boolean()) values.emplace(k, v.dump());
    }
    // A route's url is already rendered by the kernel: used as written.
    req.url = params.has("url") ? params.string("url") : s.url.render(e, Escape::url, &values);
    if (!passerelle::http::parse_url(req.url))
        throw RequestError(params.has("url") ? "route param url is not an http(s) URL"
                                             : "url rendered for this event is not an http(s) URL");
    req.headers = s.headers;
    if (sends_body(req.method)) {
        if (params.has("body")) req.body = params.string("body");
        else if (s.body) req.body = s.body->render(e, body_escape(s.content_type), &values);
        else passerelle::append_event_json(req.body, e);
        if (!has_header(req.headers, "Content-Type")) req.headers.push_back({"Content-Type", s.content_type});
    }
    switch (s.auth) {
    case Auth::none: break;
    case Auth::basic: req.credentials = passerelle::http::Credentials{s.user, s.password, true}; break;
    case Auth::digest: req.credentials = passerelle::http::Credentials{s.user, s.password, false}; break;
    case Auth::bearer: req.headers.push_back({"Authorization", "Bearer " + s.token}); break;
    }
    req.timeouts = passerelle::http::Timeouts{s.timeout, s.timeout, s.timeout};
    return req;
}

} // namespace webhook
