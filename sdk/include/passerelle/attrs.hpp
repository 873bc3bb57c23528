// An event's attributes: string keys and values, keys unique and kept sorted.
//
// The std::map it replaces cost one heap node per attribute, and an event's
// attributes are built, copied across the module ABI and freed once per event:
// with a camera fleet's few attributes per event, those nodes were a sixth of
// the daemon's allocations. Here they live side by side in one vector.
//
// The interface is the part of std::map's that events use (find, lower_bound,
// operator[], at, emplace, emplace_hint, insert_or_assign, erase, iteration
// over pairs in key order), with lookups by std::string_view. One difference
// matters: inserting or erasing moves the other elements, so iterators and
// references into an Attrs are invalidated by any insertion or erasure (as
// for a std::vector), not kept as std::map keeps them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace passerelle {

class Attrs {
public:
    using key_type = std::string;
    using mapped_type = std::string;
    using value_type = std::pair<std::string, std::string>;
    using size_type = std::size_t;
    using iterator = std::vector<value_type>::iterator;
    using const_iterator = std::vector<value_type>::const_iterator;

    Attrs() = default;
    // Like std::map's: of keys given twice, the first is kept.
    Attrs(std::initializer_list<value_type> items) : Attrs(items.begin(), items.end()) {}
    template <class InputIt>
    Attrs(InputIt first, InputIt last) {
        for (; first != last; ++first) emplace(first->first, first->second);
    }

    iterator begin() noexcept { return items_.begin(); }
    iterator end() noexcept { return items_.end(); }
    const_iterator begin() const noexcept { return items_.begin(); }
    const_iterator end() const noexcept { return items_.end(); }
    const_iterator cbegin() const noexcept { return items_.cbegin(); }
    const_iterator cend() const noexcept { return items_.cend(); }

    bool empty() const noexcept { return items_.empty(); }
    size_type size() const noexcept { return items_.size(); }
    void clear() noexcept { items_.clear(); }
    void reserve(size_type n) { items_.reserve(n); }

    iterator lower_bound(std::string_view key) { return items_.begin() + lower_index(key); }
    const_iterator lower_bound(std::string_view key) const { return items_.begin() + lower_index(key); }
    iterator find(std::string_view key) { return items_.begin() + find_index(key); }
    const_iterator find(std::string_view key) const { return items_.begin() + find_index(key); }
    size_type count(std::string_view key) const { return find_index(key) == items_.size() ? 0 : 1; }
    bool contains(std::string_view key) const { return count(key) != 0; }

    std::string& at(std::string_view key) {
        const size_type i = find_index(key);
        if (i == items_.size()) throw std::out_of_range("no attribute '" + std::string(key) + "'");
        return items_[i].second;
    }
    const std::string& at(std::string_view key) const {
        const size_type i = find_index(key);
        if (i == items_.size()) throw std::out_of_range("no attribute '" + std::string(key) + "'");
        return items_[i].second;
    }

    // The value of key, inserted empty when absent.
    std::string& operator[](std::string_view key) {
        const size_type i = lower_index(key);
        if (i < items_.size() && items_[i].first == key) return items_[i].second;
        make_room();
        return items_.emplace(items_.begin() + static_cast<std::ptrdiff_t>(i), std::string(key), std::string())
            ->second;
    }

    // Inserts value_type(args...) unless its key is present (then nothing changes).
    template <class... Args>
    std::pair<iterator, bool> emplace(Args&&... args) {
        value_type item(std::forward<Args>(args)...);
        const size_type i = lower_index(item.first);
        if (i < items_.size() && items_[i].first == item.first) return {items_.begin() + static_cast<std::ptrdiff_t>(i), false};
        make_room();
        return {items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(i), std::move(item)), true};
    }
    // Same, placed at `hint` in constant time when that is the key's place
    // (attributes copied in order: each goes at the end).
    template <class... Args>
    iterator emplace_hint(const_iterator hint, Args&&... args) {
        value_type item(std::forward<Args>(args)...);
        const bool after_previous = hint == items_.cbegin() || std::prev(hint)->first < item.first;
        const bool before_next = hint == items_.cend() || item.first < hint->first;
        if (after_previous && before_next) {
            const auto at = hint - items_.cbegin(); // make_room() may move the elements
            make_room();
            return items_.insert(items_.cbegin() + at, std::move(item));
        }
        const size_type i = lower_index(item.first);
        if (i < items_.size() && items_[i].first == item.first) return items_.begin() + static_cast<std::ptrdiff_t>(i);
        make_room();
        return items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(i), std::move(item));
    }
    std::pair<iterator, bool> insert(value_type item) { return emplace(std::move(item)); }

    // attrs[key] = value, telling whether the key was new.
    template <class Value>
    std::pair<iterator, bool> insert_or_assign(std::string_view key, Value&& value) {
        const size_type i = lower_index(key);
        const auto at = items_.begin() + static_cast<std::ptrdiff_t>(i);
        if (i < items_.size() && items_[i].first == key) {
            at->second = std::forward<Value>(value);
            return {at, false};
        }
        make_room();
        return {items_.emplace(items_.begin() + static_cast<std::ptrdiff_t>(i), std::string(key), std::string(std::forward<Value>(value))), true};
    }

    iterator erase(const_iterator pos) { return items_.erase(pos); }
    iterator erase(const_iterator first, const_iterator last) { return items_.erase(first, last); }
    size_type erase(std::string_view key) {
        const size_type i = find_index(key);
        if (i == items_.size()) return 0;
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
        return 1;
    }

    friend bool operator==(const Attrs& a, const Attrs& b) { return a.items_ == b.items_; }

private:
    // Room for a first few attributes at once: an event built key by key would
    // otherwise grow its vector 1, 2, 4, 8 (four allocations, moving strings).
    // A copy (or from_pl, which reserves) takes only what it needs.
    static constexpr size_type kFirstCapacity = 8;
    void make_room() {
        if (items_.capacity() == 0) items_.reserve(kFirstCapacity);
    }

    // Index of the first key not less than `key` (binary search: a handful of keys).
    size_type lower_index(std::string_view key) const {
        size_type lo = 0, hi = items_.size();
        while (lo < hi) {
            const size_type mid = lo + (hi - lo) / 2;
            if (std::string_view(items_[mid].first) < key) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
    size_type find_index(std::string_view key) const {
        const size_type i = lower_index(key);
        return i < items_.size() && items_[i].first == key ? i : items_.size();
    }

    std::vector<value_type> items_;
};

} // namespace passerelle
