/*
 * lomad_client: the C client of lomad (loma.v1 over ZeroMQ), the whole protocol.
 *
 *   lomad_client *client = lomad_client_new("ipc:///run/lomad/lomad.sock", NULL, &err);
 *   lomad_model *model = NULL;
 *   lomad_model_info(client, NULL, &model, &err);   // layers, kv_heads, head_dim, segment_length
 *   lomad_memory *memory = NULL;
 *   lomad_compress(client, &keys, &values, NULL, &memory, &err);
 *   ... memory->keys.data, memory->positions ...
 *   lomad_free(memory); lomad_free(model); lomad_client_free(client);
 *
 * Build with `cc prog.c $(pkg-config --cflags --libs lomad-client)`.
 *
 * Ownership: every result the library hands out (lomad_health_info, lomad_model, lomad_stats,
 * lomad_memory, lomad_sequence_info, lomad_sequence_list) is one allocation, freed by
 * lomad_free() together with everything it points to; nothing else needs freeing. Strings and
 * tensor bytes inside a result point into the received reply (tensors are never copied) and stay
 * valid until that lomad_free. After a failure nothing is allocated and *out is NULL.
 *
 * Threads: one client owns one DEALER socket, and libzmq sockets are not thread-safe, so use one
 * client per thread (clients are cheap; each has its own context).
 *
 * Failures: every call returns a lomad_result and, when given a lomad_error, fills it with the
 * kind of failure and a one-line message naming what went wrong. The endpoint is checked before
 * any socket exists (LOMAD_ERR_ENDPOINT); a missing ipc socket file or a refused connection fails
 * at once (LOMAD_ERR_UNAVAILABLE) instead of waiting for the timeout, and so does a refused CURVE
 * key or a CURVE mismatch the handshake names (LOMAD_ERR_NOT_ADMITTED). A peer that closes the
 * connection during the handshake 3 times in a row (a daemon at its connection limit, a CURVE
 * endpoint without keys or with another server key, not lomad) ends the attempt as a timeout
 * would, and the last attempt's as LOMAD_ERR_UNAVAILABLE; a request without a reply
 * within `timeout_ms` is re-sent on a fresh socket up to `retries` more times unless re-sending
 * could apply it twice (compress into a sequence, fork, delete): those fail after one attempt.
 * The defaults are those of every lomad client (Examples/README.md, "Timeouts and errors").
 */
#ifndef LOMAD_CLIENT_H
#define LOMAD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LOMAD_API __attribute__((visibility("default")))
#else
#define LOMAD_API
#endif

/* Per-attempt reply timeout and re-sends of idempotent requests, the same in every client. */
#define LOMAD_DEFAULT_TIMEOUT_MS 5000
#define LOMAD_DEFAULT_RETRIES 2

/* A CURVE key as text: 40 Z85 characters and a NUL. */
#define LOMAD_KEY_SIZE 41
/* A prefix chunk hash: sha256. */
#define LOMAD_HASH_SIZE 32

typedef enum {
    LOMAD_OK = 0,
    LOMAD_ERR_ARGUMENT = -1,     /* the caller's arguments are unusable (message says which) */
    LOMAD_ERR_SYSTEM = -2,       /* libzmq, a file or memory allocation failed */
    LOMAD_ERR_TIMEOUT = -3,      /* no reply on any attempt: daemon hung, overloaded or unreachable */
    LOMAD_ERR_MALFORMED = -4,    /* the reply is not a valid loma.v1 reply */
    LOMAD_ERR_STATUS = -5,       /* lomad answered with a non-OK status (see status_code) */
    LOMAD_ERR_ENDPOINT = -6,     /* not an ipc:///absolute/path or tcp://host:port endpoint */
    LOMAD_ERR_UNAVAILABLE = -7,  /* no daemon: no ipc socket file, or the connection was refused; or
                                  * the peer closed the connection during the handshake 3 times in
                                  * a row on the last attempt (connection limit reached: retry
                                  * later; or CURVE needed, another server key, not lomad) */
    LOMAD_ERR_NOT_ADMITTED = -8  /* lomad refused this client's CURVE key, or the handshake named a
                                  * CURVE mismatch (CURVE wanted and none given, or the reverse) */
} lomad_result;

/* Same values as loma.v1.DType and loma.v1.KVLayout. */
typedef enum {
    LOMAD_DTYPE_UNSPECIFIED = 0,
    LOMAD_DTYPE_F32 = 1,
    LOMAD_DTYPE_F16 = 2,
    LOMAD_DTYPE_BF16 = 3,
    LOMAD_DTYPE_I64 = 4
} lomad_dtype;

typedef enum {
    LOMAD_LAYOUT_UNSPECIFIED = 0,
    LOMAD_LAYOUT_HEADS_MAJOR = 1,  /* [layers, kv_heads, tokens, head_dim] */
    LOMAD_LAYOUT_TOKENS_MAJOR = 2  /* [layers, tokens, kv_heads, head_dim] */
} lomad_layout;

/* Same values as loma.v1.CompressionMethod. */
typedef enum {
    LOMAD_METHOD_LOMA = 0,
    LOMAD_METHOD_MEAN_POOL = 1, /* baselines of the same output shape, for comparison only */
    LOMAD_METHOD_STRIDED = 2
} lomad_method;

typedef struct {
    lomad_result result;
    int status_code; /* loma.v1.StatusCode when result is LOMAD_ERR_STATUS, else 0 */
    char message[512];
} lomad_error;

/* A KV tensor: 4 axes in `layout`, `size` bytes of little-endian `dtype` at `data`. */
typedef struct {
    lomad_dtype dtype;
    lomad_layout layout;
    uint64_t shape[4];
    const void *data;
    size_t size;
} lomad_tensor;

/* ---- client ------------------------------------------------------------------------------ */

typedef struct {
    int timeout_ms;  /* per attempt, > 0 */
    int retries;     /* re-sends of an idempotent request after a timeout, >= 0 */
    /* CURVE (all NULL: none). The daemon's public key and this client's secret key, 40-character
     * Z85 text as lomactl writes key files (lomad_read_key_file); the public key is derived from
     * the secret one when NULL. */
    const char *curve_server_key;
    const char *curve_secret_key;
    const char *curve_public_key;
    /* 1: always send tensors as frames. 0 (the default): on an ipc endpoint whose daemon takes
     * shared memory, pass them through /dev/shm segments the client owns (docs/protocol.md). */
    int frames_only;
} lomad_client_options;

typedef struct lomad_client lomad_client;

/* LOMAD_DEFAULT_TIMEOUT_MS, LOMAD_DEFAULT_RETRIES, no CURVE. */
LOMAD_API lomad_client_options lomad_client_default_options(void);

/* Checks the endpoint (LOMAD_ERR_ENDPOINT) and the keys; connects lazily on the first request.
 * options may be NULL (the defaults). NULL on failure, err says why. */
LOMAD_API lomad_client *lomad_client_new(const char *endpoint, const lomad_client_options *options, lomad_error *err);
LOMAD_API void lomad_client_free(lomad_client *client);

/* 1 when requests with tensors go through shared memory (known after the first such request or
 * a health call), else 0. */
LOMAD_API int lomad_client_uses_shared_memory(const lomad_client *client);

/* Checks an endpoint as lomad_client_new does, without a client: LOMAD_OK or LOMAD_ERR_ENDPOINT. */
LOMAD_API lomad_result lomad_check_endpoint(const char *endpoint, lomad_error *err);

/* The key of a key file as lomactl writes them ('#' comment lines, one Z85 key line). */
LOMAD_API lomad_result lomad_read_key_file(const char *path, char key[LOMAD_KEY_SIZE], lomad_error *err);

/* Frees any result of this library (and everything it points to). NULL is fine. */
LOMAD_API void lomad_free(void *result);

/* ---- health and models ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *architecture;
    uint32_t layers;
    uint32_t kv_heads;
    uint32_t head_dim;
    uint32_t segment_length;            /* tokens per compressed segment */
    uint32_t compression_ratio;
    uint32_t memory_tokens_per_segment; /* segment_length / compression_ratio */
    uint32_t hidden_size;
    uint32_t attention_heads;
    double load_seconds;
} lomad_model;

typedef struct {
    const char *version;
    uint32_t protocol_version;
    const char *tenant;   /* the tenant this connection's requests act as */
    double uptime_seconds;
    /* Limits the daemon enforces (a request over one is refused with a status). */
    uint64_t max_frame_bytes;
    uint64_t hard_max_message_bytes;
    uint32_t max_frames;
    uint32_t queue_depth;
    uint32_t workers;
    uint64_t max_queued_bytes;
    uint32_t max_connections;          /* connections held at once; more are closed as they connect */
    uint32_t max_connections_per_peer; /* per uid on ipc, per address on tcp */
    uint64_t max_reply_bytes;          /* replies waiting for clients to read them */
    uint32_t max_segments_per_request;
    double max_compute_seconds;        /* one pass's compute; 0: no limit */
    uint32_t tenant_queue_percent;     /* one tenant's share of the queue; 0: one tenant, no share */
    size_t n_models;
    const lomad_model *models;
} lomad_health_info;

LOMAD_API lomad_result lomad_health(lomad_client *client, lomad_health_info **out, lomad_error *err);

/* One model's shape, from the health reply: model NULL or "" means the daemon's only model
 * (LOMAD_ERR_ARGUMENT if it serves several); an unknown name is LOMAD_ERR_ARGUMENT naming the
 * models it has. */
LOMAD_API lomad_result lomad_model_info(lomad_client *client, const char *model, lomad_model **out, lomad_error *err);

/* ---- stats ------------------------------------------------------------------------------- */

typedef struct {
    int code;       /* loma.v1.StatusCode; lomad_status_name(code) */
    uint64_t count;
} lomad_status_count;

typedef struct {
    const char *operation;
    size_t n_statuses;
    const lomad_status_count *statuses;
    /* latency_counts[i] requests took at most latency_upper_seconds[i]; the last count (one more
     * than there are bounds) holds the slower ones. */
    size_t n_latency_bounds;
    const double *latency_upper_seconds;
    size_t n_latency_counts;
    const uint64_t *latency_counts;
    double latency_sum_seconds;
} lomad_operation_stats;

typedef struct {
    uint32_t batch_size;
    uint64_t count;
} lomad_batch_size_count;

typedef struct {
    double uptime_seconds;
    uint32_t queue_depth;
    uint32_t busy_workers;
    uint32_t workers;
    uint64_t undeliverable_replies;
    uint64_t held_request_bytes;
    size_t n_operations;
    const lomad_operation_stats *operations;
    size_t n_batch_sizes;
    const lomad_batch_size_count *batch_sizes;
    struct {
        const char *mode; /* "memory" or "durable" */
        uint64_t sequences, prefix_entries;
        uint64_t ram_bytes, ram_segments, ram_budget_bytes, ram_evictions, ram_hits, ram_misses;
        uint64_t durable_segments, durable_segment_bytes, durable_file_bytes, map_size_bytes;
        uint64_t expired_purged, prefix_lookups, prefix_chunks_found;
    } store;
    struct {
        const char *name;
        uint64_t bytes;
        uint64_t quota_bytes; /* 0: no quota */
    } tenant;
} lomad_stats;

LOMAD_API lomad_result lomad_stats_get(lomad_client *client, lomad_stats **out, lomad_error *err);

/* ---- compress and sequences -------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *model;
    uint32_t segments;
    uint32_t memory_tokens;
    uint64_t next_position; /* where the next compressed segment starts */
    uint64_t bytes;
} lomad_sequence_info;

typedef struct {
    size_t count;
    const lomad_sequence_info *sequences;
} lomad_sequence_list;

/* Compressed memory: keys/values point into the received frames (no copy). */
typedef struct {
    lomad_tensor keys;
    lomad_tensor values;
    const int64_t *positions; /* absolute position of every memory token */
    size_t n_positions;
    uint32_t segments;
    uint32_t matched_chunks;      /* lookup_prefix only: leading chunks found (0: no tensors) */
    int has_sequence;             /* read_memory only: */
    lomad_sequence_info sequence; /*   the sequence's state */
} lomad_memory;

typedef struct {
    const char *model;        /* NULL or "": the daemon's only model */
    const char *sequence;     /* NULL or "": none; else its memory is read as context and appended to */
    int has_position;         /* 0: position 0, or where the sequence ended */
    uint64_t position;        /* absolute position of the first segment token */
    /* Optional inline context (both or neither), same layout as keys/values; any length. */
    const lomad_tensor *context_keys;
    const lomad_tensor *context_values;
    lomad_dtype output_dtype;   /* UNSPECIFIED: the input's */
    lomad_layout output_layout; /* UNSPECIFIED: the input's */
    lomad_method method;
    int check_finite;           /* refuse NaN / infinity */
    uint32_t ttl_seconds;       /* with a sequence: it expires this long after this append (0: keep) */
} lomad_compress_options;

/* Compresses whole segments of keys/values (same shape and dtype). options may be NULL. */
LOMAD_API lomad_result lomad_compress(lomad_client *client, const lomad_tensor *keys, const lomad_tensor *values,
                                      const lomad_compress_options *options, lomad_memory **out, lomad_error *err);

/* Segments [first_segment, first_segment + segment_count) of a sequence (count 0: to the end). */
typedef struct {
    uint32_t first_segment;
    uint32_t segment_count;
    lomad_dtype output_dtype;
    lomad_layout output_layout;
} lomad_read_options;

LOMAD_API lomad_result lomad_read_memory(lomad_client *client, const char *sequence, const lomad_read_options *options,
                                         lomad_memory **out, lomad_error *err);
/* out may be NULL. */
LOMAD_API lomad_result lomad_fork_sequence(lomad_client *client, const char *source, const char *destination,
                                           lomad_sequence_info **out, lomad_error *err);
LOMAD_API lomad_result lomad_delete_sequence(lomad_client *client, const char *sequence, lomad_error *err);
/* Names starting with name_prefix (NULL or "": all). */
LOMAD_API lomad_result lomad_list_sequences(lomad_client *client, const char *name_prefix, lomad_sequence_list **out,
                                            lomad_error *err);

/* ---- prefix sharing ---------------------------------------------------------------------- */

/* Chained chunk hashes of token ids, one per whole chunk of chunk_length tokens (the model's
 * segment_length): hash i = sha256(hash i-1 || token ids of chunk i as little-endian u32), the
 * first parent being 32 zero bytes. Writes n_tokens / chunk_length hashes. */
LOMAD_API size_t lomad_chunk_hashes(const uint32_t *token_ids, size_t n_tokens, size_t chunk_length,
                                    uint8_t (*hashes)[LOMAD_HASH_SIZE]);

/* Publishes one segment's memory per chunk; stored_chunks (may be NULL) gets how many were new. */
LOMAD_API lomad_result lomad_publish_prefix(lomad_client *client, const char *model,
                                            const uint8_t (*hashes)[LOMAD_HASH_SIZE], size_t n_chunks,
                                            const lomad_tensor *keys, const lomad_tensor *values,
                                            const int64_t *positions, size_t n_positions, uint32_t *stored_chunks,
                                            lomad_error *err);
/* The longest stored prefix of hashes: (*out)->matched_chunks and its memory. */
LOMAD_API lomad_result lomad_lookup_prefix(lomad_client *client, const char *model,
                                           const uint8_t (*hashes)[LOMAD_HASH_SIZE], size_t n_chunks,
                                           lomad_dtype output_dtype, lomad_layout output_layout, lomad_memory **out,
                                           lomad_error *err);

/* ---- small helpers ----------------------------------------------------------------------- */

LOMAD_API size_t lomad_dtype_size(lomad_dtype dtype); /* bytes per element, 0 for unspecified */
LOMAD_API const char *lomad_status_name(int status_code); /* "NOT_FOUND", ... */
LOMAD_API const char *lomad_result_kind(lomad_result result); /* "invalid endpoint", "unavailable", ... */

#ifdef __cplusplus
}
#endif
#endif
