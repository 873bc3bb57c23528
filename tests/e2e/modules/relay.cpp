// A test module that runs another instance's action through the host (ABI 1.1
// `invoke`), the path MQTT commands and Jeedom `listen` take. Its `forward`
// action takes `instance`, `action` and `params` (a JSON object text) and
// answers with the target's status and result.
#include <passerelle/module.hpp>

namespace {

class Relay final : public passerelle::Instance {
public:
    static constexpr passerelle::ModuleInfo info{"relay", "1.0.0", "Test: runs another instance's action"};
    static constexpr pl_key_decl keys[] = {
        passerelle::key("note", PL_KEY_STRING, "", "Unused; lets a config name the module"),
    };
    static constexpr pl_action_decl actions[] = {
        {"forward", "instance, action, params", "Runs ACTION of INSTANCE with PARAMS (JSON text)"},
    };

    explicit Relay(const passerelle::Init& init) : Instance(init) {}

    void on_action(passerelle::Call& call) override {
        if (call.action != "forward") return Instance::on_action(call);
        const std::string instance = call.params.string("instance");
        const std::string action = call.params.string("action");
        const std::string params = call.params.string("params", "{}");
        host().invoke(instance, action, params, [reply = call.reply](int32_t status, std::string result) {
            reply.ok(nlohmann::json{{"status", status}, {"result", result}});
        });
    }
};

} // namespace

PL_DEFINE_MODULE(Relay)
