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
#endif
