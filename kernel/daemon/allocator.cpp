// jemalloc's settings for the daemon, read by jemalloc at its first call
// (MALLOC_CONF in the environment still overrides them). Compiled only when
// the daemon is linked with jemalloc (see CMakeLists.txt).
//
// - narenas:2: one arena per core of the small machines passerelle runs on;
//   the default (4 per CPU) keeps more half-empty pages per arena.
// - dirty_decay_ms:1000, muzzy_decay_ms:0: pages freed after a burst go back
//   to the system within about a second instead of ten, so RSS follows the
//   load (a backlog drained, 1,000 streams connected).
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
