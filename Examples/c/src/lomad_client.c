/* The lomad C client: loma.v1 envelopes packed with protobuf-c, tensors in their own frames. */
#include "lomad_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "loma/v1/envelope.pb-c.h"

/* A reply with more frames than this is not one lomad sends (envelope + keys + values). */
#define MAX_REPLY_FRAMES 16

struct lomad_client {
    void *context;
    void *socket;
    char *endpoint;
    int timeout_ms;
    int retries;
    uint64_t last_request_id;
};

/* A received reply: the unpacked envelope and every frame, envelope included. */
typedef struct {
    Loma__V1__Reply *envelope;
    zmq_msg_t frames[MAX_REPLY_FRAMES];
    size_t n_frames;
} received_reply;

static lomad_result fail(lomad_error *err, lomad_result result, int status_code, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static lomad_result fail(lomad_error *err, lomad_result result, int status_code, const char *format, ...) {
    if (err) {
        va_list arguments;
        va_start(arguments, format);
        err->result = result;
        err->status_code = status_code;
        vsnprintf(err->message, sizeof err->message, format, arguments);
        va_end(arguments);
    }
    return result;
}

size_t lomad_dtype_size(lomad_dtype dtype) {
    switch (dtype) {
    case LOMAD_DTYPE_F32: return 4;
    case LOMAD_DTYPE_F16:
    case LOMAD_DTYPE_BF16: return 2;
    case LOMAD_DTYPE_I64: return 8;
    default: return 0;
    }
}

const char *lomad_status_name(int status_code) {
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value(&loma__v1__status_code__descriptor, status_code);
    return value ? value->name + strlen("STATUS_CODE_") : "UNKNOWN_STATUS";
}

lomad_client *lomad_client_new(const char *endpoint, int timeout_ms, int retries, lomad_error *err) {
    if (!endpoint || !*endpoint || timeout_ms <= 0 || retries < 0) {
        fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_client_new needs an endpoint, timeout_ms > 0 and retries >= 0");
        return NULL;
    }
    lomad_client *client = calloc(1, sizeof *client);
    if (!client || !(client->endpoint = strdup(endpoint))) {
        free(client);
        fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
        return NULL;
    }
    client->context = zmq_ctx_new();
    if (!client->context) {
        fail(err, LOMAD_ERR_SYSTEM, 0, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        free(client->endpoint);
        free(client);
        return NULL;
    }
    client->timeout_ms = timeout_ms;
    client->retries = retries;
    return client;
}

static void close_socket(lomad_client *client) {
    if (client->socket) {
        zmq_close(client->socket); /* linger 0: a half-sent request or late reply is dropped */
        client->socket = NULL;
    }
}

void lomad_client_free(lomad_client *client) {
    if (!client) return;
    close_socket(client);
    zmq_ctx_term(client->context);
    free(client->endpoint);
    free(client);
}

static lomad_result open_socket(lomad_client *client, lomad_error *err) {
    if (client->socket) return LOMAD_OK;
    void *socket = zmq_socket(client->context, ZMQ_DEALER);
    if (!socket) return fail(err, LOMAD_ERR_SYSTEM, 0, "zmq_socket: %s", zmq_strerror(zmq_errno()));
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(socket, client->endpoint) != 0) {
        int error = zmq_errno();
        zmq_close(socket);
        return fail(err, LOMAD_ERR_ARGUMENT, 0, "cannot connect to %s: %s", client->endpoint, zmq_strerror(error));
    }
    client->socket = socket;
    return LOMAD_OK;
}

static void release_reply(received_reply *reply) {
    if (reply->envelope) loma__v1__reply__free_unpacked(reply->envelope, NULL);
    for (size_t i = 0; i < reply->n_frames; i++) zmq_msg_close(&reply->frames[i]);
    free(reply);
}

static int64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static lomad_result send_request(lomad_client *client, const uint8_t *head, size_t head_size,
                                 const lomad_tensor *const *tensors, size_t n_tensors, lomad_error *err) {
    int more = n_tensors > 0 ? ZMQ_SNDMORE : 0;
    if (zmq_send(client->socket, head, head_size, more) < 0)
        return fail(err, LOMAD_ERR_SYSTEM, 0, "sending the envelope: %s", zmq_strerror(zmq_errno()));
    for (size_t i = 0; i < n_tensors; i++) {
        int flags = i + 1 < n_tensors ? ZMQ_SNDMORE : 0;
        if (zmq_send(client->socket, tensors[i]->data, tensors[i]->size, flags) < 0)
            return fail(err, LOMAD_ERR_SYSTEM, 0, "sending tensor frame %zu: %s", i + 1, zmq_strerror(zmq_errno()));
    }
    return LOMAD_OK;
}

/* Reads one whole multipart message into a new reply; *reply is NULL on failure. */
static lomad_result receive_message(void *socket, received_reply **out, lomad_error *err) {
    received_reply *reply = calloc(1, sizeof *reply);
    if (!reply) return fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    int more = 1;
    lomad_result result = LOMAD_OK;
    while (more) {
        zmq_msg_t scratch, *frame = reply->n_frames < MAX_REPLY_FRAMES ? &reply->frames[reply->n_frames] : &scratch;
        zmq_msg_init(frame);
        if (zmq_msg_recv(frame, socket, 0) < 0) {
            zmq_msg_close(frame);
            result = fail(err, LOMAD_ERR_SYSTEM, 0, "receiving: %s", zmq_strerror(zmq_errno()));
            break;
        }
        more = zmq_msg_more(frame);
        if (frame == &scratch) {
            zmq_msg_close(frame); /* drain the rest so the socket stays usable */
            result = fail(err, LOMAD_ERR_MALFORMED, 0, "reply has more than %d frames", MAX_REPLY_FRAMES);
        } else {
            reply->n_frames++;
        }
    }
    if (result != LOMAD_OK) {
        release_reply(reply);
        return result;
    }
    *out = reply;
    return LOMAD_OK;
}

/* Waits for the reply to request_id; LOMAD_ERR_TIMEOUT when none comes within the timeout. */
static lomad_result await_reply(lomad_client *client, uint64_t request_id, received_reply **out, lomad_error *err) {
    int64_t deadline = now_ms() + client->timeout_ms;
    for (;;) {
        int64_t remaining = deadline - now_ms();
        if (remaining <= 0) return LOMAD_ERR_TIMEOUT;
        zmq_pollitem_t item = {.socket = client->socket, .events = ZMQ_POLLIN};
        int ready = zmq_poll(&item, 1, (long)remaining);
        if (ready < 0) {
            if (zmq_errno() == EINTR) continue;
            return fail(err, LOMAD_ERR_SYSTEM, 0, "zmq_poll: %s", zmq_strerror(zmq_errno()));
        }
        if (ready == 0) continue;
        received_reply *reply = NULL;
        lomad_result result = receive_message(client->socket, &reply, err);
        if (result != LOMAD_OK) return result;
        reply->envelope = loma__v1__reply__unpack(NULL, zmq_msg_size(&reply->frames[0]), zmq_msg_data(&reply->frames[0]));
        if (!reply->envelope) {
            release_reply(reply);
            return fail(err, LOMAD_ERR_MALFORMED, 0, "frame 0 of the reply is not a loma.v1.Reply envelope");
        }
        /* Id 0 answers a request the daemon could not parse, which can only be the one in flight. */
        if (reply->envelope->request_id != request_id && reply->envelope->request_id != 0) {
            release_reply(reply); /* late reply to an abandoned attempt */
            continue;
        }
        Loma__V1__Status *status = reply->envelope->status;
        if (status && status->code != LOMA__V1__STATUS_CODE__STATUS_CODE_OK) {
            fail(err, LOMAD_ERR_STATUS, status->code, "%s: %s", lomad_status_name(status->code),
                 status->message ? status->message : "");
            release_reply(reply);
            return LOMAD_ERR_STATUS;
        }
        *out = reply;
        return LOMAD_OK;
    }
}

/* Sends request (with tensor frames 1..n) and returns its OK reply, retrying when idempotent. */
static lomad_result round_trip(lomad_client *client, Loma__V1__Request *request, const lomad_tensor *const *tensors,
                               size_t n_tensors, int idempotent, received_reply **out, lomad_error *err) {
    request->request_id = ++client->last_request_id;
    size_t head_size = loma__v1__request__get_packed_size(request);
    uint8_t *head = malloc(head_size ? head_size : 1);
    if (!head) return fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    loma__v1__request__pack(request, head);

    int attempts = idempotent ? client->retries + 1 : 1;
    lomad_result result = LOMAD_ERR_TIMEOUT;
    for (int attempt = 0; attempt < attempts && result == LOMAD_ERR_TIMEOUT; attempt++) {
        result = open_socket(client, err);
        if (result == LOMAD_OK) result = send_request(client, head, head_size, tensors, n_tensors, err);
        if (result == LOMAD_OK) result = await_reply(client, request->request_id, out, err);
        if (result == LOMAD_ERR_TIMEOUT || result == LOMAD_ERR_SYSTEM) close_socket(client);
    }
    free(head);
    if (result == LOMAD_ERR_TIMEOUT)
        fail(err, LOMAD_ERR_TIMEOUT, 0, "no reply from lomad at %s within %d ms (%d attempt%s); is the daemon running?",
             client->endpoint, client->timeout_ms, attempts, attempts == 1 ? "" : "s");
    return result;
}

lomad_result lomad_health(lomad_client *client, char *version, size_t version_size, uint32_t *protocol_version,
                          lomad_error *err) {
    if (!client) return fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_health: client is NULL");
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    Loma__V1__HealthRequest health = LOMA__V1__HEALTH_REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_HEALTH;
    request.health = &health;
    received_reply *reply = NULL;
    lomad_result result = round_trip(client, &request, NULL, 0, 1, &reply, err);
    if (result != LOMAD_OK) return result;
    if (reply->envelope->result_case != LOMA__V1__REPLY__RESULT_HEALTH) {
        release_reply(reply);
        return fail(err, LOMAD_ERR_MALFORMED, 0, "health reply without a health result");
    }
    if (version && version_size) snprintf(version, version_size, "%s", reply->envelope->health->version);
    if (protocol_version) *protocol_version = reply->envelope->health->protocol_version;
    release_reply(reply);
    return LOMAD_OK;
}

static lomad_result check_tensor(const lomad_tensor *tensor, const char *what, lomad_error *err) {
    size_t element = lomad_dtype_size(tensor->dtype);
    if (element == 0 || tensor->dtype == LOMAD_DTYPE_I64)
        return fail(err, LOMAD_ERR_ARGUMENT, 0, "%s has dtype %d; KV tensors are f32, f16 or bf16", what, tensor->dtype);
    if (tensor->layout != LOMAD_LAYOUT_HEADS_MAJOR && tensor->layout != LOMAD_LAYOUT_TOKENS_MAJOR)
        return fail(err, LOMAD_ERR_ARGUMENT, 0, "%s has layout %d; expected heads-major or tokens-major", what, tensor->layout);
    uint64_t elements = 1;
    for (int axis = 0; axis < 4; axis++) {
        if (tensor->shape[axis] == 0) return fail(err, LOMAD_ERR_ARGUMENT, 0, "%s has a zero axis %d", what, axis);
        if (elements > UINT64_MAX / tensor->shape[axis]) return fail(err, LOMAD_ERR_ARGUMENT, 0, "%s is too large", what);
        elements *= tensor->shape[axis];
    }
    if (elements > SIZE_MAX / element || elements * element != tensor->size || (!tensor->data && tensor->size))
        return fail(err, LOMAD_ERR_ARGUMENT, 0, "%s: shape [%llu, %llu, %llu, %llu] needs %llu bytes, got %zu", what,
                    (unsigned long long)tensor->shape[0], (unsigned long long)tensor->shape[1],
                    (unsigned long long)tensor->shape[2], (unsigned long long)tensor->shape[3],
                    (unsigned long long)(elements * element), tensor->size);
    return LOMAD_OK;
}

static void describe(Loma__V1__TensorDescriptor *descriptor, const lomad_tensor *tensor, uint32_t frame) {
    descriptor->dtype = (Loma__V1__DType)tensor->dtype;
    descriptor->n_shape = 4;
    descriptor->shape = (uint64_t *)tensor->shape; /* only read while packing */
    descriptor->layout = (Loma__V1__KVLayout)tensor->layout;
    descriptor->frame = frame;
}

/* The reply tensor a descriptor names, checked against its frame. */
static lomad_result reply_tensor(const received_reply *reply, const Loma__V1__TensorDescriptor *descriptor,
                                 const char *what, lomad_tensor *tensor, lomad_error *err) {
    if (!descriptor) return fail(err, LOMAD_ERR_MALFORMED, 0, "%s has no descriptor", what);
    if (descriptor->frame < 1 || descriptor->frame >= reply->n_frames)
        return fail(err, LOMAD_ERR_MALFORMED, 0, "%s names frame %u of a %zu-frame reply", what, descriptor->frame,
                    reply->n_frames);
    if (descriptor->n_shape != 4) return fail(err, LOMAD_ERR_MALFORMED, 0, "%s has %zu axes, not 4", what, descriptor->n_shape);
    memset(tensor, 0, sizeof *tensor);
    tensor->dtype = (lomad_dtype)descriptor->dtype;
    tensor->layout = (lomad_layout)descriptor->layout;
    memcpy(tensor->shape, descriptor->shape, sizeof tensor->shape);
    zmq_msg_t *frame = (zmq_msg_t *)&reply->frames[descriptor->frame];
    tensor->data = zmq_msg_data(frame);
    tensor->size = zmq_msg_size(frame);
    lomad_error local;
    if (check_tensor(tensor, what, &local) != LOMAD_OK)
        return fail(err, LOMAD_ERR_MALFORMED, 0, "reply: %s", local.message);
    return LOMAD_OK;
}

lomad_result lomad_compress(lomad_client *client, const lomad_tensor *keys, const lomad_tensor *values,
                            const lomad_compress_options *options, lomad_memory *memory, lomad_error *err) {
    if (!client || !keys || !values || !memory)
        return fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_compress: client, keys, values and memory must not be NULL");
    memset(memory, 0, sizeof *memory);
    lomad_result result = check_tensor(keys, "keys", err);
    if (result == LOMAD_OK) result = check_tensor(values, "values", err);
    if (result != LOMAD_OK) return result;

    lomad_compress_options defaults = {0};
    if (!options) options = &defaults;
    Loma__V1__TensorDescriptor key_descriptor = LOMA__V1__TENSOR_DESCRIPTOR__INIT;
    Loma__V1__TensorDescriptor value_descriptor = LOMA__V1__TENSOR_DESCRIPTOR__INIT;
    describe(&key_descriptor, keys, 1);
    describe(&value_descriptor, values, 2);
    Loma__V1__KVPair segment = LOMA__V1__KVPAIR__INIT;
    segment.keys = &key_descriptor;
    segment.values = &value_descriptor;
    Loma__V1__CompressRequest compress = LOMA__V1__COMPRESS_REQUEST__INIT;
    compress.model = (char *)(options->model ? options->model : "");
    compress.sequence = (char *)(options->sequence ? options->sequence : "");
    compress.segment = &segment;
    if (options->has_position) {
        compress._position_case = LOMA__V1__COMPRESS_REQUEST___POSITION_POSITION;
        compress.position = options->position;
    }
    compress.output_dtype = (Loma__V1__DType)options->output_dtype;
    compress.output_layout = (Loma__V1__KVLayout)options->output_layout;
    compress.method = (Loma__V1__CompressionMethod)options->method;
    compress.check_finite = options->check_finite != 0;
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_COMPRESS;
    request.compress = &compress;

    const lomad_tensor *tensors[2] = {keys, values};
    received_reply *reply = NULL;
    /* Appending to a sequence twice would store the memory twice: never resend those. */
    result = round_trip(client, &request, tensors, 2, compress.sequence[0] == '\0', &reply, err);
    if (result != LOMAD_OK) return result;

    const Loma__V1__CompressReply *answer = reply->envelope->compress;
    if (reply->envelope->result_case != LOMA__V1__REPLY__RESULT_COMPRESS || !answer->memory)
        result = fail(err, LOMAD_ERR_MALFORMED, 0, "compress reply without memory");
    if (result == LOMAD_OK) result = reply_tensor(reply, answer->memory->keys, "compress.memory.keys", &memory->keys, err);
    if (result == LOMAD_OK)
        result = reply_tensor(reply, answer->memory->values, "compress.memory.values", &memory->values, err);
    if (result == LOMAD_OK && answer->n_positions != memory->keys.shape[memory->keys.layout == LOMAD_LAYOUT_TOKENS_MAJOR ? 1 : 2])
        result = fail(err, LOMAD_ERR_MALFORMED, 0, "compress reply has %zu positions for its memory tokens",
                      answer->n_positions);
    if (result != LOMAD_OK) {
        release_reply(reply);
        memset(memory, 0, sizeof *memory);
        return result;
    }
    memory->positions = answer->positions;
    memory->n_positions = answer->n_positions;
    memory->segments = answer->segments;
    memory->reply_ = reply;
    return LOMAD_OK;
}

void lomad_memory_release(lomad_memory *memory) {
    if (!memory) return;
    if (memory->reply_) release_reply(memory->reply_);
    memset(memory, 0, sizeof *memory);
}
