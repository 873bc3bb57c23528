// passerelle/attrs.hpp: an event's attributes in one sorted vector. Checked
// against the std::map it replaced, operation by operation on random keys, and
// through the ABI round trip (EventView -> from_pl) every event makes.
#include <passerelle/attrs.hpp>
#include <passerelle/event.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <vector>

using passerelle::Attrs;

namespace {

using Reference = std::map<std::string, std::string, std::less<>>;

bool same(const Attrs& a, const Reference& m) {
    if (a.size() != m.size()) return false;
    auto r = m.begin();
    for (const auto& [k, v] : a) {
        if (k != r->first || v != r->second) return false;
        ++r;
    }
    return true;
}

} // namespace

TEST_CASE("attrs: keys stay unique and sorted whatever the insertion order") {
    Attrs a;
    a["target"] = "human";
    a.emplace("region", "2");
    a.insert_or_assign("channel_name", std::string("Porch"));
    a.emplace_hint(a.begin(), "zone", "z"); // a wrong hint still lands in its place
    std::vector<std::string> keys;
    for (const auto& kv : a) keys.push_back(kv.first);
    CHECK(keys == std::vector<std::string>{"channel_name", "region", "target", "zone"});
    CHECK(a.at("region") == "2");
    CHECK_THROWS_AS(a.at("missing"), std::out_of_range);
    CHECK(a.count("zone") == 1);
    CHECK(a.find("nothing") == a.end());
}

TEST_CASE("attrs: emplace keeps an existing value, insert_or_assign replaces it, as std::map does") {
    Attrs a{{"k", "first"}, {"k", "second"}}; // a list: the first of a key wins
    CHECK(a.size() == 1);
    CHECK(a.at("k") == "first");
    auto [it, inserted] = a.emplace("k", "other");
    CHECK_FALSE(inserted);
    CHECK(it->second == "first");
    CHECK(a.emplace_hint(a.end(), "k", "hinted")->second == "first");
    auto [it2, fresh] = a.insert_or_assign("k", "third");
    CHECK_FALSE(fresh);
    CHECK(it2->second == "third");
    CHECK(a.erase("k") == 1);
    CHECK(a.erase("k") == 0);
    CHECK(a.empty());
}

TEST_CASE("attrs: random operations give what std::map gives") {
    std::mt19937 rng(20261124);
    const std::vector<std::string> keys = {"", "a", "b", "device_time", "region", "target", "x_long_key_past_sso",
                                           "Z", "a.b", "a_b"};
    auto pick = [&] { return keys[rng() % keys.size()]; };
    for (int round = 0; round < 200; ++round) {
        Attrs a;
        Reference m;
        for (int op = 0; op < 60; ++op) {
            const std::string k = pick();
            const std::string v = std::to_string(rng() % 1000);
            switch (rng() % 7) {
            case 0: a[k] = v; m[k] = v; break;
            case 1: CHECK(a.emplace(k, v).second == m.emplace(k, v).second); break;
            case 2: CHECK(a.insert_or_assign(k, v).second == m.insert_or_assign(k, v).second); break;
            case 3: CHECK(a.erase(k) == m.erase(k)); break;
            case 4: { // a hint anywhere, right or wrong
                auto hint = a.begin() + static_cast<std::ptrdiff_t>(rng() % (a.size() + 1));
                a.emplace_hint(hint, k, v);
                m.emplace(k, v);
                break;
            }
            case 5: CHECK(a.count(k) == m.count(k)); break;
            case 6: {
                auto it = a.lower_bound(k);
                auto r = m.lower_bound(k);
                CHECK((it == a.end()) == (r == m.end()));
                if (it != a.end() && r != m.end()) CHECK(it->first == r->first);
                break;
            }
            }
            REQUIRE(same(a, m));
        }
        Attrs copy(m.begin(), m.end());
        CHECK(copy == a);
    }
}

TEST_CASE("attrs: an event's attributes survive the ABI round trip, a key given twice keeps the last") {
    passerelle::Event e;
    e.type = "motion";
    for (int i = 0; i < 20; ++i) e.attrs["key" + std::to_string(19 - i)] = std::string(i + 1, 'v'); // more than fit inline
    passerelle::EventView view(e);
    CHECK(passerelle::from_pl(*view.get()).attrs == e.attrs);

    pl_kv twice[] = {{passerelle::to_pl("b"), passerelle::to_pl("1")},
                     {passerelle::to_pl("a"), passerelle::to_pl("2")},
                     {passerelle::to_pl("b"), passerelle::to_pl("3")}};
    pl_event raw{};
    raw.struct_size = sizeof raw;
    raw.attrs = twice;
    raw.attrs_count = 3;
    const passerelle::Event back = passerelle::from_pl(raw);
    CHECK(back.attrs == Attrs{{"a", "2"}, {"b", "3"}});
}
