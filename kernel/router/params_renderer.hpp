// A route's `params` compiled once: the JSON object is pre-serialized into
// constant chunks with a slot for each template, so rendering one event is a
// few appends and the substituted values' JSON escaping (no JSON library on
// the hot path). Non-string values (numbers, bools, arrays, nested tables)
// are copied as written; only top-level string values are templates.
#pragma once

#include "router/template.hpp"

#include <passerelle/event.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace passerelle::kernel::routing {

class ParamsRenderer {
public:
    struct Error {
        std::string key; // "params" or "params.NAME"
        std::string message;
    };

    // `params_json` empty means "{}". Appends every problem to `errors`.
    static bool compile(std::string_view params_json, ParamsRenderer& out, std::vector<Error>& errors);

    // The rendered JSON object text.
    std::string render(const Event& e) const;

private:
    struct Piece {
        std::string literal;    // appended first
        int template_ix = -1;   // then this template's JSON-escaped text, if >= 0
    };
    std::vector<Piece> pieces_;
    std::vector<Template> templates_;
    size_t size_hint_ = 2;
};

} // namespace passerelle::kernel::routing
