// Text to speech: runs the `espeak-ng` program as a child process (no shell,
// the text is one argv element), reads its WAV from stdout with a timeout and
// turns it into an 8 kHz Prompt. `.wav` files are loaded and resampled too.
// espeak-ng is not linked (GPL-3 and process-global): it is only executed.
#pragma once

#include "audio.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace sip {

struct TtsOptions {
    std::string program = "espeak-ng";  // looked up in PATH
    std::string voice = "fr";
    std::chrono::milliseconds timeout{15000};
    size_t max_bytes = 64u << 20;       // refuse runaway output
};

// Synthesizes `text` (8 kHz mono samples). nullopt with `error` on failure
// (program missing, timeout, bad output).
std::optional<std::vector<int16_t>> synthesize(const std::string& text, const TtsOptions& options, std::string* error);

// Loads a WAV file and resamples it to 8 kHz.
std::optional<std::vector<int16_t>> load_wav_8k(const std::string& path, std::string* error);

// "a .wav path" or "text to speak": the prompt for one configured message.
std::optional<Prompt> make_message(const std::string& text_or_wav, const TtsOptions& options, std::string* error);

} // namespace sip
