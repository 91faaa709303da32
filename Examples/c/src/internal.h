/* Internals shared by the library's source files; not installed. */
#ifndef LOMAD_INTERNAL_H
#define LOMAD_INTERNAL_H

#include "lomad_client.h"

/* Fills err (when given) and returns result. */
lomad_result lomad_fail(lomad_error *err, lomad_result result, int status_code, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* The endpoint checked by the shared client policy. For ipc, *ipc_path (may be NULL) points at
 * the absolute path inside `endpoint`; for tcp it is set to NULL. */
lomad_result lomad_parse_endpoint(const char *endpoint, const char **ipc_path, lomad_error *err);

#endif

#ifdef LOMAD_WITH_PROTOBUF
#include <zmq.h>

#include "loma/v1/envelope.pb-c.h"

/* A reply with more frames than this is not one lomad sends (envelope + keys + values). */
#define LOMAD_MAX_REPLY_FRAMES 16

/* A received OK reply: the unpacked envelope and every frame, envelope included. */
typedef struct {
    Loma__V1__Reply *envelope;
    zmq_msg_t frames[LOMAD_MAX_REPLY_FRAMES];
    size_t n_frames;
} lomad_reply;

void lomad_reply_release(lomad_reply *reply);

/* Sends request (tensor frames 1..n_tensors after the envelope) and returns its OK reply. A
 * request that is not idempotent is sent once; the others up to 1 + retries times. */
lomad_result lomad_round_trip(lomad_client *client, Loma__V1__Request *request, const lomad_tensor *const *tensors,
                              size_t n_tensors, int idempotent, lomad_reply **out, lomad_error *err);

/* A zeroed result of `size` bytes plus `extra` bytes (at result + lomad_align(size)), owning
 * `reply` (released by lomad_free with it). NULL when out of memory (reply is then released). */
void *lomad_result_new(size_t size, size_t extra, lomad_reply *reply);
size_t lomad_align(size_t size);

/* ---- same-host shared memory (shared_memory.c; docs/protocol.md "Shared memory") ---------- */

/* A /dev/shm object the client created (mode 0600, "/lomad-..."), kept mapped. */
typedef struct {
    char name[64];
    int fd;
    void *map;
    size_t capacity;
} lomad_shm_segment;

/* Whether requests with tensors go through the client's segments: unknown until the first one
 * asks the daemon's health (on ipc only), then on with the daemon's limit, or off. */
typedef struct {
    int state; /* 0: not asked yet, 1: on, -1: off */
    uint64_t limit;
    lomad_shm_segment input, reply;
    size_t reply_capacity;
    /* What a prepared request's shared_memory field points at. */
    Loma__V1__SharedMemoryRequest request;
    Loma__V1__SharedMemorySpan spans[LOMAD_MAX_REPLY_FRAMES];
    Loma__V1__SharedMemorySpan *span_pointers[LOMAD_MAX_REPLY_FRAMES];
} lomad_shm_channel;

void lomad_shm_init(lomad_shm_channel *channel, int enabled);
/* Unmaps and removes the segments. */
void lomad_shm_close(lomad_shm_channel *channel);
/* Whether the operation of request carries tensors (either way): what makes it worth asking. */
int lomad_shm_carries_tensors(const Loma__V1__Request *request);
/* Writes the tensors into the input segment and points request->shared_memory at both segments;
 * *prepared 0 (nothing changed) when the request should go as frames. */
lomad_result lomad_shm_prepare(lomad_shm_channel *channel, Loma__V1__Request *request, const lomad_tensor *const *tensors,
                               size_t n_tensors, int *prepared, lomad_error *err);
/* Copies tensors the daemon wrote into the reply segment into frames 1.. of reply, so the rest
 * of the library reads them as if they had come as frames; notes a size the reply needed. */
lomad_result lomad_shm_take_reply(lomad_shm_channel *channel, lomad_reply *reply, lomad_error *err);
#endif
