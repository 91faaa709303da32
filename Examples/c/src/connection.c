/*
 * Sockets, retries and fast failure. One DEALER socket per client, created on the first request
 * and replaced after a timeout ("lazy pirate": a late reply to an abandoned attempt can never be
 * mistaken for the next one's). Each socket has a monitor so that the failures libzmq hides
 * behind its silent reconnect loop are reported at once: a refused connection (the daemon is not
 * there) and a refused CURVE handshake (this key is not admitted), instead of after the timeout.
 * A peer that closes the connection during the handshake is ambiguous (a daemon at its
 * connection limit, a CURVE endpoint, a wrong server key, not lomad): a few such hang-ups in a
 * row end the attempt as a timeout would, and the last attempt's fails as LOMAD_ERR_UNAVAILABLE.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <time.h>

#define LOMAD_WITH_PROTOBUF
#include "internal.h"

struct lomad_client {
    void *context;
    void *socket;
    void *monitor;       /* PAIR socket receiving `socket`'s monitor events */
    int connected;       /* the current socket's transport connected (before any handshake) */
    int handshake_done;  /* the current socket completed a ZMTP handshake */
    int hang_ups;        /* consecutive handshakes the peer closed on the current socket */
    int reconnecting;    /* libzmq's next CONNECT_RETRIED is its reconnect after a hang-up, not a refusal */
    unsigned socket_serial;
    char *endpoint;
    const char *ipc_path; /* inside endpoint; NULL for tcp */
    char *tcp_host;       /* the host of a tcp endpoint, brackets removed; NULL for ipc */
    int timeout_ms;
    int retries;
    int curve;
    char server_key[LOMAD_KEY_SIZE], public_key[LOMAD_KEY_SIZE], secret_key[LOMAD_KEY_SIZE];
    uint64_t last_request_id;
    lomad_shm_channel shm; /* same-host shared memory (shared_memory.c) */
};

lomad_result lomad_fail(lomad_error *err, lomad_result result, int status_code, const char *format, ...) {
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

/* ---- results ----------------------------------------------------------------------------- */

/* Precedes every result: lomad_free finds it just before the pointer it is given. */
typedef union {
    max_align_t alignment;
    lomad_reply *reply;
} result_header;

size_t lomad_align(size_t size) {
    size_t unit = alignof(max_align_t);
    return (size + unit - 1) / unit * unit;
}

void *lomad_result_new(size_t size, size_t extra, lomad_reply *reply) {
    result_header *header = calloc(1, sizeof *header + lomad_align(size) + extra);
    if (!header) {
        if (reply) lomad_reply_release(reply);
        return NULL;
    }
    header->reply = reply;
    return header + 1;
}

void lomad_free(void *result) {
    if (!result) return;
    result_header *header = (result_header *)result - 1;
    if (header->reply) lomad_reply_release(header->reply);
    free(header);
}

void lomad_reply_release(lomad_reply *reply) {
    if (!reply) return;
    if (reply->envelope) loma__v1__reply__free_unpacked(reply->envelope, NULL);
    for (size_t i = 0; i < reply->n_frames; i++) zmq_msg_close(&reply->frames[i]);
    free(reply);
}

/* ---- client ------------------------------------------------------------------------------ */

lomad_client_options lomad_client_default_options(void) {
    lomad_client_options options = {.timeout_ms = LOMAD_DEFAULT_TIMEOUT_MS, .retries = LOMAD_DEFAULT_RETRIES};
    return options;
}

static lomad_result copy_key(const char *key, const char *what, char copy[LOMAD_KEY_SIZE], lomad_error *err) {
    uint8_t decoded[32];
    if (strlen(key) != LOMAD_KEY_SIZE - 1 || !zmq_z85_decode(decoded, key))
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "%s is not a 40-character Z85 CURVE key", what);
    memcpy(copy, key, LOMAD_KEY_SIZE);
    return LOMAD_OK;
}

static lomad_result set_up_curve(lomad_client *client, const lomad_client_options *options, lomad_error *err) {
    if (!options->curve_server_key && !options->curve_secret_key && !options->curve_public_key) return LOMAD_OK;
    if (!options->curve_server_key || !options->curve_secret_key)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "CURVE needs both the server's public key and this client's secret key");
    if (!zmq_has("curve")) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "this libzmq was built without CURVE support");
    lomad_result result = copy_key(options->curve_server_key, "the server key", client->server_key, err);
    if (result == LOMAD_OK) result = copy_key(options->curve_secret_key, "the secret key", client->secret_key, err);
    if (result == LOMAD_OK && options->curve_public_key)
        result = copy_key(options->curve_public_key, "the public key", client->public_key, err);
    else if (result == LOMAD_OK && zmq_curve_public(client->public_key, client->secret_key) != 0)
        result = lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "zmq_curve_public: %s", zmq_strerror(zmq_errno()));
    client->curve = result == LOMAD_OK;
    return result;
}

/* The host of a checked tcp endpoint: between the brackets of an IPv6 address, else before the
 * port's colon. */
static char *tcp_host(const char *endpoint) {
    const char *host = endpoint + strlen("tcp://");
    if (host[0] == '[') return strndup(host + 1, (size_t)(strchr(host, ']') - host - 1));
    return strndup(host, (size_t)(strrchr(host, ':') - host));
}

lomad_client *lomad_client_new(const char *endpoint, const lomad_client_options *options, lomad_error *err) {
    lomad_client_options defaults = lomad_client_default_options();
    if (!options) options = &defaults;
    if (lomad_parse_endpoint(endpoint, NULL, err) != LOMAD_OK) return NULL;
    if (options->timeout_ms <= 0 || options->retries < 0) {
        lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "timeout_ms must be > 0 and retries >= 0 (got %d and %d)", options->timeout_ms,
                   options->retries);
        return NULL;
    }
    lomad_client *client = calloc(1, sizeof *client);
    if (!client || !(client->endpoint = strdup(endpoint))) {
        free(client);
        lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
        return NULL;
    }
    lomad_parse_endpoint(client->endpoint, &client->ipc_path, NULL);
    if (!client->ipc_path && !(client->tcp_host = tcp_host(client->endpoint))) {
        lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
        lomad_client_free(client);
        return NULL;
    }
    client->timeout_ms = options->timeout_ms;
    client->retries = options->retries;
    lomad_shm_init(&client->shm, client->ipc_path != NULL && !options->frames_only);
    if (set_up_curve(client, options, err) != LOMAD_OK) {
        lomad_client_free(client);
        return NULL;
    }
    client->context = zmq_ctx_new();
    if (!client->context) {
        lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        lomad_client_free(client);
        return NULL;
    }
    return client;
}

static void close_socket(lomad_client *client) {
    if (client->monitor) {
        zmq_socket_monitor(client->socket, NULL, 0);
        zmq_close(client->monitor);
        client->monitor = NULL;
    }
    if (client->socket) {
        zmq_close(client->socket); /* linger 0: a half-sent request or late reply is dropped */
        client->socket = NULL;
    }
    client->connected = 0;
    client->handshake_done = 0;
    client->hang_ups = 0;
    client->reconnecting = 0;
}

void lomad_client_free(lomad_client *client) {
    if (!client) return;
    close_socket(client);
    lomad_shm_close(&client->shm);
    if (client->context) zmq_ctx_term(client->context);
    /* Secret key material does not outlive the client (volatile: a memset before free may be
     * optimised away). */
    volatile char *secret = client->secret_key;
    for (size_t i = 0; i < sizeof client->secret_key; i++) secret[i] = 0;
    free(client->tcp_host);
    free(client->endpoint);
    free(client);
}

/* Missing socket file: nothing can answer, so say so now rather than after the timeout. */
static lomad_result check_ipc_socket(const lomad_client *client, lomad_error *err) {
    if (!client->ipc_path) return LOMAD_OK;
    struct stat info;
    if (stat(client->ipc_path, &info) != 0) {
        if (errno == ENOENT)
            return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0, "no lomad at %s: the socket file does not exist (is lomad running?)",
                              client->endpoint);
        return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0, "no lomad at %s: %s: %s", client->endpoint, client->ipc_path, strerror(errno));
    }
    if (!S_ISSOCK(info.st_mode))
        return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0, "no lomad at %s: %s is not a socket", client->endpoint, client->ipc_path);
    return LOMAD_OK;
}

/* libzmq resolves a tcp host in the background and, when it cannot, retries as it would after a
 * refused connection; resolving here first names the real problem. */
static lomad_result check_tcp_host(const lomad_client *client, lomad_error *err) {
    if (!client->tcp_host) return LOMAD_OK;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *found = NULL;
    int error = getaddrinfo(client->tcp_host, NULL, &hints, &found);
    if (error != 0)
        return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0, "no lomad at %s: cannot resolve host '%s' (%s)", client->endpoint,
                          client->tcp_host, gai_strerror(error));
    freeaddrinfo(found);
    return LOMAD_OK;
}

static lomad_result open_socket(lomad_client *client, lomad_error *err) {
    if (client->socket) return LOMAD_OK;
    lomad_result result = check_ipc_socket(client, err);
    if (result == LOMAD_OK) result = check_tcp_host(client, err);
    if (result != LOMAD_OK) return result;
    void *socket = zmq_socket(client->context, ZMQ_DEALER);
    if (!socket) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "zmq_socket: %s", zmq_strerror(zmq_errno()));
    client->socket = socket;
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if (client->curve &&
        (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, client->server_key, LOMAD_KEY_SIZE - 1) != 0 ||
         zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, client->public_key, LOMAD_KEY_SIZE - 1) != 0 ||
         zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, client->secret_key, LOMAD_KEY_SIZE - 1) != 0)) {
        result = lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "setting the CURVE keys: %s", zmq_strerror(zmq_errno()));
        close_socket(client);
        return result;
    }
    char monitor_endpoint[64];
    snprintf(monitor_endpoint, sizeof monitor_endpoint, "inproc://lomad-monitor-%u", ++client->socket_serial);
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(socket, monitor_endpoint, events) != 0 ||
        !(client->monitor = zmq_socket(client->context, ZMQ_PAIR)) ||
        zmq_connect(client->monitor, monitor_endpoint) != 0) {
        result = lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "monitoring the socket: %s", zmq_strerror(zmq_errno()));
        close_socket(client);
        return result;
    }
    zmq_setsockopt(client->monitor, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(socket, client->endpoint) != 0) {
        result = lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "cannot connect to %s: %s", client->endpoint, zmq_strerror(zmq_errno()));
        close_socket(client);
        return result;
    }
    return LOMAD_OK;
}

/* The next pending monitor event (0 when none) and its value. */
static uint16_t next_event(lomad_client *client, uint32_t *value) {
    zmq_msg_t head, address;
    zmq_msg_init(&head);
    if (zmq_msg_recv(&head, client->monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        return 0;
    }
    uint16_t event = 0;
    *value = 0;
    if (zmq_msg_size(&head) >= 6) {
        memcpy(&event, zmq_msg_data(&head), sizeof event);
        memcpy(value, (const uint8_t *)zmq_msg_data(&head) + 2, sizeof *value);
    }
    int more = zmq_msg_more(&head);
    zmq_msg_close(&head);
    if (more) { /* the second frame is the endpoint, already known */
        zmq_msg_init(&address);
        zmq_msg_recv(&address, client->monitor, 0);
        zmq_msg_close(&address);
    }
    return event;
}

/* Between requests: when the connection broke since the last reply (the daemon stopped or
 * restarted), the socket is dropped, so that the next attempt starts afresh and a daemon that
 * is gone is reported at once instead of after the timeout. */
static void drop_broken_socket(lomad_client *client) {
    if (!client->socket) return;
    int broken = 0;
    uint32_t value;
    for (uint16_t event; (event = next_event(client, &value)) != 0;)
        if (event != ZMQ_EVENT_CONNECTED && event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) broken = 1;
    if (broken) close_socket(client);
}

/* Whether a connect of our own to the ipc socket is refused: nobody listens on it. */
static int ipc_refuses(const char *path) {
    int probe = socket(AF_UNIX, SOCK_STREAM, 0);
    if (probe < 0) return 0;
    fcntl(probe, F_SETFL, O_NONBLOCK); /* a full backlog answers EAGAIN instead of blocking */
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "%s", path);
    int refused = connect(probe, (struct sockaddr *)&address, sizeof address) != 0 && (errno == ECONNREFUSED || errno == ENOENT);
    close(probe);
    return refused;
}

/* Hang-ups during the handshake in a row after which an attempt ends as a timeout would. */
#define LOMAD_MAX_HANG_UPS 3

/* The peer closed the connection during the handshake: a daemon past its connection limit does
 * that (and comes back), and so does a CURVE daemon to a client without keys or with the wrong
 * server key, and a peer that is not lomad. Only LOMAD_MAX_HANG_UPS in a row end the attempt. */
static lomad_result hung_up(lomad_client *client) {
    client->connected = 0;
    client->reconnecting = 1;
    return ++client->hang_ups >= LOMAD_MAX_HANG_UPS ? LOMAD_ERR_TIMEOUT : LOMAD_OK;
}

/* Reads the monitor's pending events; a failure they show ends the attempt (LOMAD_ERR_TIMEOUT,
 * err untouched: too many hang-ups during the handshake). */
static lomad_result read_monitor(lomad_client *client, lomad_error *err) {
    for (;;) {
        uint32_t value;
        uint16_t event = next_event(client, &value);
        if (event == 0) return LOMAD_OK;
        lomad_result result;
        switch (event) {
        case ZMQ_EVENT_CONNECTED:
            client->connected = 1;
            client->reconnecting = 0;
            break;
        case ZMQ_EVENT_DISCONNECTED: /* the daemon went away: a refused reconnect means it is gone */
            client->connected = 0;
            client->handshake_done = 0;
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            client->handshake_done = 1;
            client->hang_ups = 0;
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            /* Before any handshake (or after the connection dropped), libzmq retrying means the
             * connection was refused, or the peer accepted and hung up without speaking ZMTP;
             * right after a hang-up it is only libzmq scheduling its reconnect. */
            if (client->handshake_done) break;
            if (client->reconnecting) {
                client->reconnecting = 0;
                break;
            }
            if (client->connected) {
                if ((result = hung_up(client)) != LOMAD_OK) return result;
                client->reconnecting = 0; /* this was the reconnect */
                break;
            }
            if (client->ipc_path) {
                /* A unix socket also refuses for a moment when its listen backlog is full: only
                 * our own probe being refused says that nobody listens. */
                lomad_result result = check_ipc_socket(client, err);
                if (result != LOMAD_OK) return result;
                if (!ipc_refuses(client->ipc_path)) break;
                return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0,
                                  "no lomad at %s: connection refused (the socket file is left from a daemon that is gone)",
                                  client->endpoint);
            }
            return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0, "no lomad at %s: connection refused", client->endpoint);
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            if ((result = hung_up(client)) != LOMAD_OK) return result;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            return lomad_fail(err, LOMAD_ERR_NOT_ADMITTED, 0, "lomad at %s refused this client's CURVE key (ZAP status %u)",
                              client->endpoint, value);
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                return lomad_fail(err, LOMAD_ERR_NOT_ADMITTED, 0, "lomad at %s %s", client->endpoint,
                                  client->curve ? "does not use CURVE on this endpoint; connect without keys"
                                                : "requires CURVE on this endpoint; pass its server key and a client secret key");
            return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0, "no lomad at %s: the handshake failed (ZMTP protocol error 0x%x)",
                              client->endpoint, value);
        default: break;
        }
    }
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
        return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "sending the envelope: %s", zmq_strerror(zmq_errno()));
    for (size_t i = 0; i < n_tensors; i++) {
        int flags = i + 1 < n_tensors ? ZMQ_SNDMORE : 0;
        if (zmq_send(client->socket, tensors[i]->data, tensors[i]->size, flags) < 0)
            return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "sending tensor frame %zu: %s", i + 1, zmq_strerror(zmq_errno()));
    }
    return LOMAD_OK;
}

/* Reads one whole multipart message into a new reply. */
static lomad_result receive_message(void *socket, lomad_reply **out, lomad_error *err) {
    lomad_reply *reply = calloc(1, sizeof *reply);
    if (!reply) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    int more = 1;
    lomad_result result = LOMAD_OK;
    while (more) {
        zmq_msg_t scratch, *frame = reply->n_frames < LOMAD_MAX_REPLY_FRAMES ? &reply->frames[reply->n_frames] : &scratch;
        zmq_msg_init(frame);
        if (zmq_msg_recv(frame, socket, 0) < 0) {
            zmq_msg_close(frame);
            result = lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "receiving: %s", zmq_strerror(zmq_errno()));
            break;
        }
        more = zmq_msg_more(frame);
        if (frame == &scratch) {
            zmq_msg_close(frame); /* drain the rest so the socket stays usable */
            result = lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "reply has more than %d frames", LOMAD_MAX_REPLY_FRAMES);
        } else {
            reply->n_frames++;
        }
    }
    if (result != LOMAD_OK) {
        lomad_reply_release(reply);
        return result;
    }
    *out = reply;
    return LOMAD_OK;
}

/* Waits for the reply to request_id; LOMAD_ERR_TIMEOUT when none comes within the timeout. */
static lomad_result await_reply(lomad_client *client, uint64_t request_id, lomad_reply **out, lomad_error *err) {
    int64_t deadline = now_ms() + client->timeout_ms;
    for (;;) {
        lomad_result result = read_monitor(client, err);
        if (result != LOMAD_OK) return result;
        int64_t remaining = deadline - now_ms();
        if (remaining <= 0) return LOMAD_ERR_TIMEOUT;
        zmq_pollitem_t items[2] = {{.socket = client->socket, .events = ZMQ_POLLIN},
                                   {.socket = client->monitor, .events = ZMQ_POLLIN}};
        int ready = zmq_poll(items, 2, (long)remaining);
        if (ready < 0) {
            if (zmq_errno() == EINTR) continue;
            return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "zmq_poll: %s", zmq_strerror(zmq_errno()));
        }
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        lomad_reply *reply = NULL;
        result = receive_message(client->socket, &reply, err);
        if (result != LOMAD_OK) return result;
        reply->envelope = loma__v1__reply__unpack(NULL, zmq_msg_size(&reply->frames[0]), zmq_msg_data(&reply->frames[0]));
        if (!reply->envelope) {
            lomad_reply_release(reply);
            return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "frame 0 of the reply is not a loma.v1.Reply envelope");
        }
        /* Id 0 answers a request the daemon could not parse, which can only be the one in flight. */
        if (reply->envelope->request_id != request_id && reply->envelope->request_id != 0) {
            lomad_reply_release(reply); /* late reply to an abandoned attempt */
            continue;
        }
        Loma__V1__Status *status = reply->envelope->status;
        if (status && status->code != LOMA__V1__STATUS_CODE__STATUS_CODE_OK) {
            lomad_fail(err, LOMAD_ERR_STATUS, status->code, "lomad answered %s: %s", lomad_status_name(status->code),
                       status->message ? status->message : "");
            lomad_reply_release(reply);
            return LOMAD_ERR_STATUS;
        }
        *out = reply;
        return LOMAD_OK;
    }
}

/* Sends request with its tensors as frames, attempt by attempt, and returns its OK reply. */
static lomad_result exchange(lomad_client *client, Loma__V1__Request *request, const lomad_tensor *const *tensors,
                             size_t n_tensors, int idempotent, lomad_reply **out, lomad_error *err) {
    request->request_id = ++client->last_request_id;
    size_t head_size = loma__v1__request__get_packed_size(request);
    uint8_t *head = malloc(head_size ? head_size : 1);
    if (!head) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    loma__v1__request__pack(request, head);

    int attempts = idempotent ? client->retries + 1 : 1;
    lomad_result result = LOMAD_ERR_TIMEOUT;
    int hung_up_on = 0; /* the last attempt ended by hang-ups during the handshake, not the timeout */
    drop_broken_socket(client);
    for (int attempt = 0; attempt < attempts && result == LOMAD_ERR_TIMEOUT; attempt++) {
        result = open_socket(client, err);
        if (result == LOMAD_OK) result = send_request(client, head, head_size, tensors, n_tensors, err);
        if (result == LOMAD_OK) result = await_reply(client, request->request_id, out, err);
        hung_up_on = result == LOMAD_ERR_TIMEOUT && client->hang_ups >= LOMAD_MAX_HANG_UPS;
        /* Any failure but an answer leaves the socket in doubt: the next request gets a new one. */
        if (result != LOMAD_OK && result != LOMAD_ERR_STATUS && result != LOMAD_ERR_MALFORMED) close_socket(client);
    }
    free(head);
    if (result == LOMAD_ERR_TIMEOUT && hung_up_on)
        return lomad_fail(err, LOMAD_ERR_UNAVAILABLE, 0,
                          "lomad at %s closed the connection during the handshake %d times: its connection limit may be "
                          "reached (retry later), the endpoint may require CURVE keys or a different server key, or it "
                          "is not lomad",
                          client->endpoint, LOMAD_MAX_HANG_UPS);
    if (result == LOMAD_ERR_TIMEOUT)
        lomad_fail(err, LOMAD_ERR_TIMEOUT, 0, "no reply from lomad at %s within %d ms (%d attempt%s)%s", client->endpoint,
                   client->timeout_ms, attempts, attempts == 1 ? "" : "s",
                   idempotent ? "" : "; not re-sent, since a second attempt could apply it twice");
    return result;
}

/* Asks the daemon's shared-memory limit once, in one attempt: when it does not answer, the
 * request goes as frames and fails as it would have, and the next request asks again. */
static void negotiate_shared_memory(lomad_client *client) {
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    Loma__V1__HealthRequest health = LOMA__V1__HEALTH_REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_HEALTH;
    request.health = &health;
    lomad_reply *reply = NULL;
    if (exchange(client, &request, NULL, 0, 0, &reply, NULL) != LOMAD_OK) return;
    if (reply->envelope->result_case == LOMA__V1__REPLY__RESULT_HEALTH && reply->envelope->health->limits) {
        client->shm.limit = reply->envelope->health->limits->shared_memory_max_bytes;
        client->shm.state = client->shm.limit > 0 ? 1 : -1;
    }
    lomad_reply_release(reply);
}

lomad_result lomad_round_trip(lomad_client *client, Loma__V1__Request *request, const lomad_tensor *const *tensors,
                              size_t n_tensors, int idempotent, lomad_reply **out, lomad_error *err) {
    lomad_error local;
    if (!err) err = &local;
    lomad_shm_channel *channel = &client->shm;
    if (channel->state == 0 && lomad_shm_carries_tensors(request)) negotiate_shared_memory(client);
    int prepared = 0;
    lomad_result result = lomad_shm_prepare(channel, request, tensors, n_tensors, &prepared, err);
    if (result != LOMAD_OK) return result;
    result = exchange(client, request, prepared ? NULL : tensors, prepared ? 0 : n_tensors, idempotent, out, err);
    request->shared_memory = NULL;
    if (result == LOMAD_ERR_STATUS && prepared && err->status_code == LOMA__V1__STATUS_CODE__STATUS_CODE_FAILED_PRECONDITION &&
        strstr(err->message, "shared memory")) {
        /* The daemon stopped taking shared memory (a reload set its limit to 0): frames always
         * work, and nothing was done for the refused request. */
        channel->state = -1;
        lomad_shm_close(channel);
        return lomad_round_trip(client, request, tensors, n_tensors, idempotent, out, err);
    }
    if (result != LOMAD_OK) return result;
    const Loma__V1__Reply *envelope = (*out)->envelope;
    if (channel->state == 0 && envelope->result_case == LOMA__V1__REPLY__RESULT_HEALTH && envelope->health->limits) {
        /* A health reply the caller asked for answers the negotiation too. */
        channel->limit = envelope->health->limits->shared_memory_max_bytes;
        channel->state = channel->limit > 0 ? 1 : -1;
    }
    result = lomad_shm_take_reply(channel, *out, err);
    if (result != LOMAD_OK) {
        lomad_reply_release(*out);
        *out = NULL;
    }
    return result;
}

int lomad_client_uses_shared_memory(const lomad_client *client) { return client && client->shm.state == 1; }
