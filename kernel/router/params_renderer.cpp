#include "router/params_renderer.hpp"

#include <nlohmann/json.hpp>

namespace passerelle::kernel::routing {

bool ParamsRenderer::compile(std::string_view params_json, ParamsRenderer& out, std::vector<Error>& errors) {
    const size_t errors_before = errors.size();
    // ordered_json keeps the keys in the order the operator wrote them.
    nlohmann::ordered_json doc;
    try {
        doc = nlohmann::ordered_json::parse(params_json.empty() ? std::string_view("{}") : params_json);
    } catch (const std::exception& ex) {
        errors.push_back({"params", std::string("not valid JSON: ") + ex.what()});
        return false;
    }
    if (!doc.is_object()) {
        errors.push_back({"params", "must be a table (a JSON object)"});
        return false;
    }
    ParamsRenderer r;
    std::string literal = "{";
    bool first = true;
    for (const auto& [key, value] : doc.items()) {
        if (!first) literal.push_back(',');
        first = false;
        literal += nlohmann::ordered_json(key).dump();
        literal.push_back(':');
        if (!value.is_string()) {
            literal += value.dump();
            continue;
        }
        Template t;
        std::string error;
        if (!Template::compile(value.get_ref<const std::string&>(), t, error)) {
            errors.push_back({"params." + key, error});
            continue;
        }
        if (t.is_constant()) {
            literal += nlohmann::ordered_json(t.constant_text()).dump();
            continue;
        }
        literal.push_back('"');
        r.pieces_.push_back({std::move(literal), static_cast<int>(r.templates_.size())});
        r.templates_.push_back(std::move(t));
        literal.assign(1, '"'); // (not `= "\""`: GCC 12 -Wrestrict false positive)
    }
    literal.push_back('}');
    r.pieces_.push_back({std::move(literal), -1});
    if (errors.size() != errors_before) return false;
    r.size_hint_ = 0;
    for (const auto& p : r.pieces_) r.size_hint_ += p.literal.size() + (p.template_ix >= 0 ? 16 : 0);
    out = std::move(r);
    return true;
}

std::string ParamsRenderer::render(const Event& e) const {
    std::string out;
    out.reserve(size_hint_);
    for (const auto& p : pieces_) {
        out += p.literal;
        if (p.template_ix >= 0) templates_[static_cast<size_t>(p.template_ix)].render_json_escaped(e, out);
    }
    return out;
}

} // namespace passerelle::kernel::routing
