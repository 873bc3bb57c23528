// Auto mode's cache: source -> Jeedom equipment id, and command logicalId ->
// command id, persisted as JSON in the instance's state directory so a
// restart does not look everything up again. Tied to the Jeedom URL: a cache
// written for another box is ignored. No network here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace passerelle::jeedom {

class AutoMapping {
public:
    AutoMapping() = default;
    AutoMapping(std::filesystem::path file, std::string box_url) : file_(std::move(file)), box_(std::move(box_url)) {}

    // Reads the file; a missing, unreadable or foreign file is an empty cache.
    void load();
    // Writes atomically (temp file + rename). Errors are returned, not thrown.
    bool save(std::string& error) const;

    std::optional<int64_t> equipment(const std::string& source) const;
    std::optional<int64_t> command(const std::string& source, const std::string& logical_id) const;
    bool commands_listed(const std::string& source) const;

    void set_equipment(const std::string& source, int64_t id);
    void set_command(const std::string& source, const std::string& logical_id, int64_t id);
    void set_commands_listed(const std::string& source);
    // Drops what is known about a source (its ids went stale).
    void forget(const std::string& source);

    size_t size() const { return sources_.size(); }

private:
    struct Source {
        int64_t equipment = 0;
        std::map<std::string, int64_t> commands;
        bool listed = false; // cmd::byEqLogicId read since the last forget (not persisted)
    };
    std::filesystem::path file_;
    std::string box_;
    std::map<std::string, Source> sources_;
};

} // namespace passerelle::jeedom
