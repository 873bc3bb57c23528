// The smallest useful module: one config key, one action that publishes an
// event and replies. Build it with the CMakeLists.txt beside it.
#include <passerelle/module.hpp>

class Hello : public passerelle::Instance {
public:
    static constexpr passerelle::ModuleInfo info{"hello", "1.0.0", "Says hello"};
    static constexpr pl_key_decl keys[] = {
        passerelle::key("greeting", PL_KEY_STRING, "hello", "What to say"),
    };
    static constexpr pl_action_decl actions[] = {
        {"say", "to", "Publishes a greeting event (type message) and replies with the text"},
    };

    explicit Hello(const passerelle::Init& init) : Instance(init), greeting_(init.config.string("greeting")) {}

    void on_action(passerelle::Call& call) override {
        if (call.action != "say") return Instance::on_action(call);
        const std::string text = greeting_ + ", " + call.params.string("to", "world");
        passerelle::Event e;
        e.type = "message";
        e.code = "hello";
        e.time_ns = now_ns();
        e.attrs["text"] = text;
        publish(e);
        call.reply.ok(nlohmann::json{{"said", text}});
    }

private:
    std::string greeting_;
};

PL_DEFINE_MODULE(Hello)
