// A small blocking HTTP/1.1 client for the API tests: raw POSIX sockets with
// receive/send timeouts, so a test that waits for bytes that never come fails
// within seconds instead of hanging.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_api {

struct HttpResponse {
    int status = 0; // 0 = no answer (connection closed, timeout)
    std::map<std::string, std::string> headers; // lower-case names
    std::string body;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

class TestClient {
public:
    explicit TestClient(uint16_t port, std::chrono::milliseconds io_timeout = std::chrono::seconds(5));
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    void send_raw(std::string_view bytes);
    // Sends one request (keep-alive) and reads its response.
    HttpResponse request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::string_view body = {});
    HttpResponse read_response();
    // Reads until `marker` is in the received bytes (returns all of them) or the
    // deadline passes (returns what came).
    std::string read_until(std::string_view marker, std::chrono::milliseconds deadline);
    // True when the server closes the connection (EOF or reset) before the deadline.
    bool wait_closed(std::chrono::milliseconds deadline);
    void close();

private:
    bool fill(); // reads more into buf_; false on EOF, error or timeout
    int fd_ = -1;
    std::string buf_;
};

uint16_t port_of(const std::string& endpoint); // "127.0.0.1:1234" -> 1234

} // namespace test_api
