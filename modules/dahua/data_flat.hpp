// The `data={...}` JSON of a Dahua event, flattened without building a DOM.
// map_event needs every leaf as an attribute and a few members (UTC, Object,
// Name...); building nlohmann's DOM for that cost more than the rest of the
// event. FlatJson reads the same plain subset as parse_plain_json (objects,
// arrays, ASCII strings with simple escapes, canonical integers, true, false,
// null) into a flat vector of nodes that point into the text, and declines
// anything else -- plus object keys holding escapes -- so that the caller falls
// back to the DOM path. Members are visited in nlohmann's order (sorted by
// key, a repeated key keeping its last value), so results are identical
// (event_mapping_test and fuzz_dahua_data_json compare the two paths).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace passerelle::dahua {

class FlatJson {
public:
    enum class Kind : uint8_t { object, array, string, number, boolean_true, boolean_false, null };
    static constexpr uint32_t npos = UINT32_MAX;
    struct Node {
        Kind kind = Kind::null;
        bool escaped = false;  // string: `text` holds backslash escapes
        uint32_t first = npos; // object / array: first child
        uint32_t next = npos;  // next sibling, in nlohmann's order
        std::string_view key;  // object member: its key (no escapes)
        std::string_view text; // string: between the quotes, raw; number: its digits
    };

    // false: outside the plain subset; the nodes are then meaningless.
    bool parse(std::string_view text);
    // Frees the nodes a large document needed (a hostile part can take ~30,000);
    // a usual one's stay allocated for the next event.
    void release_if_large() {
        if (nodes_.capacity() > 4096) nodes_ = {};
    }
    const Node& node(uint32_t i) const { return nodes_[i]; }
    static constexpr uint32_t root = 0;

    // A member of an object node (npos when absent or not an object).
    uint32_t member(uint32_t object, std::string_view key) const;
    // What nlohmann's dump() / get<std::string>() gives for a scalar node: the
    // string unescaped, the integer's digits, true/false, "" for null. nullopt
    // for an object or an array (the DOM path prints those).
    std::optional<std::string> scalar_text(uint32_t i) const;

private:
    bool value(uint32_t slot, int depth);
    bool object(uint32_t slot, int depth);
    bool array(uint32_t slot, int depth);
    bool string(std::string_view& out, bool& escaped);
    bool integer(std::string_view& out);
    bool literal(std::string_view word);
    void skip_space();
    void sort_members(uint32_t object);
    uint32_t add() {
        nodes_.emplace_back();
        return static_cast<uint32_t>(nodes_.size() - 1);
    }

    std::vector<Node> nodes_;         // kept between parses: no allocation per event
    std::vector<uint32_t> scratch_;   // sort_members' work list
    const char* p_ = nullptr;
    const char* end_ = nullptr;
};

} // namespace passerelle::dahua
