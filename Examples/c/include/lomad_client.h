/*
 * A small C client of lomad (loma.v1 over ZeroMQ): health and compress.
 *
 * One client owns one DEALER socket; it is not thread-safe (libzmq sockets are not), so use one
 * client per thread. A request that gets no reply within the timeout is resent on a fresh socket
 * up to `retries` times ("lazy pirate"), except a compress into a sequence, which a resend could
 * append twice.
 *
 * Every function that can fail returns a lomad_result and, when given a lomad_error, fills it
 * with a message naming what went wrong; nothing is left allocated after a failure.
 */
#ifndef LOMAD_CLIENT_H
#define LOMAD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LOMAD_OK = 0,
    LOMAD_ERR_ARGUMENT = -1,  /* the caller's arguments are unusable (message says which) */
    LOMAD_ERR_SYSTEM = -2,    /* libzmq or memory allocation failed */
    LOMAD_ERR_TIMEOUT = -3,   /* no reply on any attempt: daemon down, overloaded or unreachable */
    LOMAD_ERR_MALFORMED = -4, /* the reply is not a valid loma.v1 reply */
    LOMAD_ERR_STATUS = -5     /* the daemon answered with a non-OK status (see status_code) */
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

typedef struct {
    const char *model;        /* NULL or "": the daemon's only model */
    const char *sequence;     /* NULL or "": none; else read as context and appended to */
    int has_position;         /* 0: position 0, or where the sequence ended */
    uint64_t position;        /* absolute position of the first segment token */
    lomad_dtype output_dtype; /* UNSPECIFIED: the input's */
    lomad_layout output_layout;
    lomad_method method;
    int check_finite;         /* refuse NaN / infinity */
} lomad_compress_options;

/* Memory returned by compress. keys/values point into the received frames (no copy) and stay
 * valid until lomad_memory_release. */
typedef struct {
    lomad_tensor keys;
    lomad_tensor values;
    const int64_t *positions;
    size_t n_positions;
    uint32_t segments;
    void *reply_; /* owned frames and envelope */
} lomad_memory;

typedef struct lomad_client lomad_client;

/* NULL on failure (err says why). timeout_ms > 0, retries >= 0. */
lomad_client *lomad_client_new(const char *endpoint, int timeout_ms, int retries, lomad_error *err);
void lomad_client_free(lomad_client *client);

/* Version string of the daemon (truncated to fit) and its protocol version. */
lomad_result lomad_health(lomad_client *client, char *version, size_t version_size, uint32_t *protocol_version,
                          lomad_error *err);

/* Compresses whole segments of keys/values (same shape, dtype and layout). options may be NULL. */
lomad_result lomad_compress(lomad_client *client, const lomad_tensor *keys, const lomad_tensor *values,
                            const lomad_compress_options *options, lomad_memory *memory, lomad_error *err);
void lomad_memory_release(lomad_memory *memory);

size_t lomad_dtype_size(lomad_dtype dtype); /* bytes per element, 0 for unspecified */
const char *lomad_status_name(int status_code);

#ifdef __cplusplus
}
#endif
#endif
