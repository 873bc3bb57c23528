// A test module (never in lib/passerelle) for the metrics: its `count` action
// adds to a module counter (exported as passerelle_module_<name>_total), and
// as a sink it refuses every delivery (passerelle_errors_total).
#include <passerelle/module.hpp>

namespace {

class Counter final : public passerelle::Instance {
public:
    static constexpr passerelle::ModuleInfo info{"counter", "1.0.0", "Test: module counters and refused deliveries"};
    static constexpr pl_key_decl keys[] = {
        passerelle::key("note", PL_KEY_STRING, "", "Unused; lets a config name the module"),
    };
    static constexpr pl_action_decl actions[] = {
        {"count", "name, n", "Adds n (default 1) to the module counter `name`"},
    };

    explicit Counter(const passerelle::Init& init) : Instance(init) {}

    void on_action(passerelle::Call& call) override {
        if (call.action == "deliver") return call.reply.fail(PL_ERR_PERMANENT, "the counter module refuses deliveries");
        if (call.action != "count") return Instance::on_action(call);
        const std::string name = call.params.string("name");
        const int64_t n = call.params.integer("n", 1);
        host().count(name, n);
        call.reply.ok(nlohmann::json{{"counted", name}, {"n", n}});
    }
};

} // namespace

PL_DEFINE_MODULE(Counter)
