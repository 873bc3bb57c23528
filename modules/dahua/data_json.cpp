#include "data_json.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace passerelle::dahua {

namespace {

using nlohmann::json;

// Deeper than any camera nests (4 levels at most in the captures); deeper input goes to nlohmann.
constexpr int kMaxDepth = 32;

class PlainReader {
public:
    explicit PlainReader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    bool document(json& out) {
        skip_space();
        if (!value(out, 0)) return false;
        skip_space();
        return p_ == end_;
    }

private:
    void skip_space() {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }

    bool literal(std::string_view word) {
        if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
        p_ += word.size();
        return true;
    }

    bool value(json& out, int depth) {
        if (p_ == end_) return false;
        switch (*p_) {
        case '{': return object(out, depth + 1);
        case '[': return array(out, depth + 1);
        case '"': {
            std::string s;
            if (!string(s)) return false;
            out = std::move(s);
            return true;
        }
        case 't': out = true; return literal("true");
        case 'f': out = false; return literal("false");
        case 'n': out = nullptr; return literal("null");
        default: return integer(out);
        }
    }

    bool object(json& out, int depth) {
        if (depth > kMaxDepth) return false;
        ++p_; // '{'
        out = json::object();
        skip_space();
        if (p_ != end_ && *p_ == '}') {
            ++p_;
            return true;
        }
        std::string key;
        for (;;) {
            skip_space();
            if (p_ == end_ || *p_ != '"' || !string(key)) return false;
            skip_space();
            if (p_ == end_ || *p_ != ':') return false;
            ++p_;
            skip_space();
            json& slot = out[key]; // a repeated key: the last value wins, as in nlohmann
            if (!value(slot, depth)) return false;
            skip_space();
            if (p_ == end_) return false;
            if (*p_ == '}') {
                ++p_;
                return true;
            }
            if (*p_ != ',') return false;
            ++p_;
        }
    }

    bool array(json& out, int depth) {
        if (depth > kMaxDepth) return false;
        ++p_; // '['
        out = json::array();
        skip_space();
        if (p_ != end_ && *p_ == ']') {
            ++p_;
            return true;
        }
        for (;;) {
            skip_space();
            json item;
            if (!value(item, depth)) return false;
            out.push_back(std::move(item));
            skip_space();
            if (p_ == end_) return false;
            if (*p_ == ']') {
                ++p_;
                return true;
            }
            if (*p_ != ',') return false;
            ++p_;
        }
    }

    // ASCII only, simple escapes only; the plain run is copied in one go.
    bool string(std::string& out) {
        ++p_; // '"'
        out.clear();
        const char* run = p_;
        for (;;) {
            if (p_ == end_) return false;
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                out.append(run, static_cast<size_t>(p_ - run));
                ++p_;
                return true;
            }
            if (c < 0x20 || c >= 0x80) return false; // control bytes are invalid; UTF-8 is nlohmann's to check
            if (c != '\\') {
                ++p_;
                continue;
            }
            out.append(run, static_cast<size_t>(p_ - run));
            if (++p_ == end_) return false;
            switch (*p_) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            default: return false; // \u and invalid escapes
            }
            run = ++p_;
        }
    }

    // -?(0|[1-9][0-9]*) within uint64 (int64 when negative), not -0: what nlohmann
    // stores as an integer. Fractions, exponents and bigger numbers are its own.
    bool integer(json& out) {
        const bool negative = *p_ == '-';
        const char* digits = negative ? p_ + 1 : p_;
        const char* q = digits;
        uint64_t v = 0;
        while (q != end_ && *q >= '0' && *q <= '9') {
            const auto d = static_cast<uint64_t>(*q - '0');
            if (v > (UINT64_MAX - d) / 10) return false; // overflow
            v = v * 10 + d;
            ++q;
        }
        const auto n = q - digits;
        if (n == 0 || (n > 1 && *digits == '0')) return false;
        if (q != end_ && (*q == '.' || *q == 'e' || *q == 'E')) return false;
        if (negative) {
            constexpr uint64_t min_magnitude = uint64_t{1} << 63; // -INT64_MIN
            if (v == 0 || v > min_magnitude) return false;        // -0, or below INT64_MIN
            out = v == min_magnitude ? INT64_MIN : -static_cast<int64_t>(v); // number_integer, as nlohmann
        } else {
            out = v; // number_unsigned, as nlohmann stores a non-negative integer
        }
        p_ = q;
        return true;
    }

    const char* p_;
    const char* end_;
};

} // namespace

std::optional<json> parse_plain_json(std::string_view text) {
    json out;
    PlainReader reader(text);
    if (!reader.document(out)) return std::nullopt;
    return out;
}

json parse_data_json(std::string_view text) {
    if (auto plain = parse_plain_json(text)) return std::move(*plain);
    return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

} // namespace passerelle::dahua
