/*
 * passerelle module ABI, version 1.
 *
 * Plain C on purpose: a module built with another compiler, standard library
 * or Boost version must still load. Nothing C++ crosses this boundary: strings
 * are pointer + length (not NUL-terminated unless said), maps are arrays of
 * key/value pairs, errors are status codes plus a caller-owned message buffer,
 * and no side ever frees memory the other side allocated. Every struct begins
 * with `struct_size` so either side can add fields at the end without breaking
 * the other: a reader only touches fields that fit in the size it was given.
 *
 * A module exports one symbol, `passerelle_module_v1`, a function returning a
 * pointer to its static descriptor (see PL_DEFINE_MODULE in module.hpp).
 */
#ifndef PASSERELLE_ABI_H
#define PASSERELLE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PL_ABI_MAJOR 1
#define PL_ABI_MINOR 4
#define PL_ENTRY_SYMBOL "passerelle_module_v1"

#if defined(_WIN32)
#define PL_EXPORT __declspec(dllexport)
#else
#define PL_EXPORT __attribute__((visibility("default")))
#endif

/* A borrowed string: valid only for the duration of the call it is passed to. */
typedef struct pl_str {
    const char* data;
    size_t size;
} pl_str;

typedef struct pl_kv {
    pl_str key;
    pl_str value;
} pl_kv;

/* Status codes. They double as the delivery classes the outbox acts on. */
typedef enum pl_status {
    PL_OK = 0,
    PL_ERR_INVALID = 1,        /* bad config or bad params: the caller's fault, do not retry */
    PL_ERR_RETRY = 2,          /* transient (transport, timeout, 5xx): retry later */
    PL_ERR_PERMANENT = 3,      /* this request will never succeed (4xx): give up on it */
    PL_ERR_AUTH = 4,           /* authentication/configuration: pause the sink, retry slowly */
    PL_ERR_UNKNOWN_ACTION = 5, /* the instance has no such action */
    PL_ERR_TIMEOUT = 6,        /* no answer in time (set by the host) */
    PL_ERR_INTERNAL = 7        /* a bug or an unexpected exception inside the module */
} pl_status;

typedef enum pl_log_level {
    PL_LOG_TRACE = 0,
    PL_LOG_DEBUG = 1,
    PL_LOG_INFO = 2,
    PL_LOG_WARN = 3,
    PL_LOG_ERROR = 4
} pl_log_level;

typedef enum pl_event_state {
    PL_STATE_PULSE = 0,
    PL_STATE_START = 1,
    PL_STATE_STOP = 2
} pl_event_state;

/* An event, as a module publishes it or as a sink receives it. */
typedef struct pl_event {
    size_t struct_size;
    uint64_t id;           /* set by the host on publish; ignored when a module publishes */
    int64_t time_ns;       /* when the device says it happened, UTC ns since the epoch; 0 = now */
    int64_t received_ns;   /* set by the host */
    pl_str source;         /* instance name; set by the host on publish */
    pl_str module;         /* module name; set by the host on publish */
    pl_str type;           /* normalized kind: motion, doorbell, call, ... */
    pl_str code;           /* the device's own code */
    int32_t channel;       /* 1-based, 0 when not applicable */
    int32_t state;         /* pl_event_state */
    const pl_kv* attrs;
    size_t attrs_count;
    pl_str attachment_mime; /* empty when there is no attachment */
    const uint8_t* attachment_data;
    size_t attachment_size;
    pl_str attachment_path; /* set by a sink that stored the attachment (host side: empty) */
} pl_event;

/* Config key types a module can declare. The host validates and normalizes:
 * durations and sizes reach the module as integers (milliseconds, bytes). */
typedef enum pl_key_type {
    PL_KEY_STRING = 0,
    PL_KEY_INT = 1,
    PL_KEY_BOOL = 2,
    PL_KEY_FLOAT = 3,
    PL_KEY_DURATION = 4, /* "5s", "250ms", "2h", "7d" -> milliseconds */
    PL_KEY_SIZE = 5,     /* "10MB", "512KiB", 1024 -> bytes */
    PL_KEY_STRING_LIST = 6,
    PL_KEY_TABLE = 7,    /* a table of strings (e.g. channel names, headers) */
    PL_KEY_PATH = 8      /* a file or directory; relative paths are resolved against the config file's directory */
} pl_key_type;

enum {
    PL_KEY_REQUIRED = 1u << 0,
    PL_KEY_SECRET = 1u << 1 /* masked in logs and in the API; may come from ${ENV} or KEY_file */
};

/* One declared config key: the module's reference documentation and the
 * host's validation schema at once (Fluent Bit's config_map, in C). */
typedef struct pl_key_decl {
    const char* name;          /* NUL-terminated, static */
    int32_t type;              /* pl_key_type */
    uint32_t flags;            /* PL_KEY_* */
    const char* default_value; /* plain text parsed per type: "5s", "true", "10", "a,b"; NULL = none */
    const char* description;   /* one line */
} pl_key_decl;

typedef struct pl_action_decl {
    const char* name;        /* NUL-terminated, static */
    const char* params;      /* e.g. "channel, enabled"; informative */
    const char* description; /* one line */
} pl_action_decl;

/* Completion of an invoke: status, and a JSON result (or error message) text.
 * May be called from any thread, exactly once, before or after invoke returns.
 * On PL_OK `result` is a JSON text (may be empty = {}); otherwise a one-line
 * human message. The host copies `result` before returning. */
typedef void (*pl_completion_fn)(void* completion_ctx, int32_t status, pl_str result);

typedef void (*pl_timer_fn)(void* timer_ctx);

/* What the host offers to a module instance. Every function is thread-safe. */
typedef struct pl_host_api {
    size_t struct_size;
    void* host_ctx; /* pass back as the first argument of every call below */
    /* Publish an event from this instance. The host copies everything. */
    int32_t (*publish)(void* host_ctx, const pl_event* event);
    void (*log)(void* host_ctx, int32_t level, pl_str message);
    /* Report the instance's health: state is one word (ok, connected, reconnecting,
     * unreachable, auth_failed, ...), detail a short human sentence (may be empty).
     * `info` is a JSON object text with extra fields for the API (model, serial...). */
    void (*set_health)(void* host_ctx, pl_str state, pl_str detail, pl_str info_json);
    /* Add `delta` to the instance counter `name` (exported as a Prometheus metric). */
    void (*count)(void* host_ctx, pl_str name, int64_t delta);
    /* One-shot timer on the host's timer thread. Returns an id > 0, 0 on failure. */
    uint64_t (*timer_start)(void* host_ctx, int64_t delay_ms, pl_timer_fn fn, void* timer_ctx);
    /* Cancels a timer; after it returns the callback is not running and will not run. */
    void (*timer_cancel)(void* host_ctx, uint64_t timer_id);
    /* Directory this instance may write state into (created by the host). NUL-terminated. */
    const char* state_dir;
    /* Since ABI 1.1 (check struct_size): run an action of another instance of
     * this daemon, exactly as the control API would (e.g. a command received
     * from MQTT or Jeedom). `done` is called exactly once, from any thread. */
    void (*invoke)(void* host_ctx, pl_str instance, pl_str action, pl_str params_json, pl_completion_fn done,
                   void* done_ctx);
    /* Since ABI 1.2 (check struct_size): bracket a burst of work on the calling
     * thread, e.g. every handler an event loop runs for one wake-up. Events
     * published inside are numbered and routed at once, but their hand-off to
     * the sinks' threads waits for the outermost burst_end, so a burst of N
     * events wakes a sink once, not N times. Per thread, nestable; host_ctx may
     * be any instance's or NULL. A module that never calls them gets immediate
     * hand-offs. Do not wait for input between a publish and the burst_end that
     * follows it (opening the burst before the wait is fine). */
    void (*burst_begin)(void* host_ctx);
    void (*burst_end)(void* host_ctx);
    /* Since ABI 1.3 (check struct_size): wake-up coalescing, in microseconds
     * ([daemon] coalesce; 0 = off). An event loop that has run out of work
     * waits this long once, unwoken, before it sleeps for real: under a steady
     * trickle of events (a fleet of cameras) one wake-up then carries several
     * events instead of one. It adds at most this much latency. */
    int64_t coalesce_us;
    /* Since ABI 1.4 (check struct_size): 1 when coalesce_us was set by the
     * config ([daemon] coalesce), 0 when it is only the daemon's default. A
     * module may then use a default of its own: a camera source, whose events
     * need no millisecond, gathers longer; a sink whose input already comes in
     * bursts need not linger at all. A value the config sets applies to all. */
    int32_t coalesce_configured;
} pl_host_api;

typedef struct pl_instance pl_instance; /* opaque, owned by the module */

/* Everything needed to create an instance. */
typedef struct pl_create_args {
    size_t struct_size;
    pl_str name;        /* instance name from the config */
    pl_str config_json; /* validated config: a JSON object, defaults applied, secrets resolved */
    const pl_host_api* host;
    /* On failure the module writes the key path (e.g. "url") and a message here. */
    char* error_key;
    size_t error_key_capacity;
    char* error_message;
    size_t error_message_capacity;
} pl_create_args;

/* A call into an instance: an action with params, optionally about an event.
 * A routed event with no explicit action uses the action "deliver". */
typedef struct pl_invoke_args {
    size_t struct_size;
    pl_str action;
    pl_str params_json;    /* JSON object; "{}" when none */
    const pl_event* event; /* NULL for control-API actions that are not about an event */
    pl_completion_fn done;
    void* done_ctx;
    /* Since ABI 1.4 (check struct_size): 1 when the host calls invoke on this
     * instance again right after this call returns (a batch of deliveries; the
     * last call of the batch says 0). A module may hold the wake-up of its
     * thread until that last call: a batch of N events
     * then costs one wake-up and one write. If the batch is cut short, the
     * host's next call to the instance, or its stop, comes soon after. */
    int32_t more_follows;
} pl_invoke_args;

typedef struct pl_module_descriptor {
    size_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    const char* name;        /* module name used in `module = "..."` */
    const char* version;     /* the module's own version */
    const char* description; /* one line */
    const pl_key_decl* keys;
    size_t keys_count;
    const pl_action_decl* actions;
    size_t actions_count;
    /* Deliveries the host may have in flight at once for one sink; 1 = strictly one by one. */
    uint32_t max_inflight;

    int32_t (*create)(pl_create_args* args, pl_instance** out);
    /* Start I/O. Must return quickly: long work happens on the module's own threads. */
    int32_t (*start)(pl_instance* inst);
    /* Stop I/O and wait until no callback of this instance runs any more. */
    void (*stop)(pl_instance* inst);
    void (*destroy)(pl_instance* inst);
    /* Must return quickly; completes through args->done. */
    void (*invoke)(pl_instance* inst, const pl_invoke_args* args);
} pl_module_descriptor;

typedef const pl_module_descriptor* (*pl_module_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* PASSERELLE_ABI_H */
