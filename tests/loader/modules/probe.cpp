// A well-formed module built with the SDK; NAME comes from the build so two
// copies can collide on purpose (duplicate-name refusal).
#include <passerelle/module.hpp>

class Probe : public passerelle::Instance {
public:
    static constexpr passerelle::ModuleInfo info{PROBE_NAME, "2.1.0", "Test module for the loader"};
    static constexpr pl_key_decl keys[] = {
        passerelle::key("answer", PL_KEY_INT, "42", "The number the echo action returns"),
    };
    static constexpr pl_action_decl actions[] = {{"echo", "any", "Replies with its params and the answer"},
                                                 {"health", "state, detail, info", "Reports the given health"}};

    explicit Probe(const passerelle::Init& init) : Instance(init), answer_(init.config.integer("answer")) {}

    void on_action(passerelle::Call& call) override {
        if (call.action == "health") {
            host().health(call.params.string("state", ""), call.params.string("detail", ""),
                          call.params.json().value("info", nlohmann::json::object()));
            return call.reply.ok();
        }
        if (call.action != "echo") return Instance::on_action(call);
        nlohmann::json out = call.params.json();
        out["answer"] = answer_;
        call.reply.ok(out);
    }

private:
    int64_t answer_;
};

PL_DEFINE_MODULE(Probe)
