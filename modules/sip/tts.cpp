#include "tts.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sip {
namespace {

bool ends_with_wav(const std::string& s) {
    if (s.size() < 4) return false;
    std::string ext = s.substr(s.size() - 4);
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext == ".wav";
}

} // namespace

std::optional<std::vector<int16_t>> synthesize(const std::string& text, const TtsOptions& o, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<std::vector<int16_t>> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::string voice = o.voice.empty() ? "fr" : o.voice;
    // "--" ends the options: a message starting with '-' stays text.
    std::vector<std::string> args = {o.program, "-v", voice, "--stdout", "--", text};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, o.program.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return fail("cannot run " + o.program + ": " + std::strerror(rc));
    }
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    bool timed_out = false, too_big = false;
    char buf[65536];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int pr = poll(&p, 1, static_cast<int>(left.count()));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) {
            timed_out = pr == 0;
            break;
        }
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > o.max_bytes) {
            too_big = true;
            break;
        }
    }
    close(fds[0]);
    if (timed_out || too_big) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) return fail(o.program + " timed out");
    if (too_big) return fail(o.program + " wrote too much");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(o.program + " failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
    std::string why;
    auto pcm = parse_wav(out, &why);
    if (!pcm) return fail(o.program + " output: " + why);
    return resample(pcm->samples, pcm->rate, 8000);
}

std::optional<std::vector<int16_t>> load_wav_8k(const std::string& path, std::string* error) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        if (error) *error = "cannot open " + path;
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    std::string why;
    auto pcm = parse_wav(ss.str(), &why);
    if (!pcm) {
        if (error) *error = path + ": " + why;
        return std::nullopt;
    }
    return resample(pcm->samples, pcm->rate, 8000);
}

std::optional<Prompt> make_message(const std::string& text_or_wav, const TtsOptions& o, std::string* error) {
    auto pcm = ends_with_wav(text_or_wav) ? load_wav_8k(text_or_wav, error) : synthesize(text_or_wav, o, error);
    if (!pcm) return std::nullopt;
    return make_prompt(std::move(*pcm));
}

} // namespace sip
