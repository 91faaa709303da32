/* Same-host shared memory: on an ipc endpoint whose daemon takes it (its health reply's
 * limits.shared_memory_max_bytes > 0), a request's tensors are written into an input segment the
 * client owns and the daemon writes the reply's tensors into a reply segment the client owns, so
 * neither crosses the socket. Segments are /dev/shm objects "/lomad-<role>-<pid>-<random>", mode
 * 0600 (the daemon opens only its peer uid's objects that nobody else may read or write), removed
 * by lomad_client_free. See docs/protocol.md, "Shared memory". */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOMAD_WITH_PROTOBUF
#include "internal.h"

#define ALIGNMENT 64
#define FIRST_REPLY_CAPACITY ((size_t)4 << 20)

static size_t aligned(size_t offset) { return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT; }

void lomad_shm_init(lomad_shm_channel *channel, int enabled) {
    memset(channel, 0, sizeof *channel);
    channel->state = enabled ? 0 : -1;
    channel->input.fd = channel->reply.fd = -1;
    channel->reply_capacity = FIRST_REPLY_CAPACITY;
}

static void segment_close(lomad_shm_segment *segment) {
    if (segment->map) munmap(segment->map, segment->capacity);
    if (segment->fd >= 0) {
        close(segment->fd);
        shm_unlink(segment->name);
    }
    segment->map = NULL;
    segment->fd = -1;
    segment->capacity = 0;
}

void lomad_shm_close(lomad_shm_channel *channel) {
    segment_close(&channel->input);
    segment_close(&channel->reply);
}

int lomad_shm_carries_tensors(const Loma__V1__Request *request) {
    switch (request->operation_case) {
    case LOMA__V1__REQUEST__OPERATION_COMPRESS:
    case LOMA__V1__REQUEST__OPERATION_READ_MEMORY:
    case LOMA__V1__REQUEST__OPERATION_PUBLISH_PREFIX:
    case LOMA__V1__REQUEST__OPERATION_LOOKUP_PREFIX: return 1;
    default: return 0;
    }
}

/* Removes, once per process, the objects a client process left behind when it ended without
 * lomad_client_free: "lomad-in-PID-..." and "lomad-out-PID-..." of this uid whose PID no longer
 * runs. A live process's objects are never touched. */
static void remove_stale_segments(void) {
    static int done;
    if (done) return;
    done = 1;
    DIR *directory = opendir("/dev/shm");
    if (!directory) return;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        char role[8];
        long pid;
        int end = 0;
        if (sscanf(entry->d_name, "lomad-%7[a-z]-%ld-%*[0-9a-z]%n", role, &pid, &end) != 2 || end == 0 ||
            entry->d_name[end] != '\0' || (strcmp(role, "in") != 0 && strcmp(role, "out") != 0) || pid <= 0 ||
            pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[300];
        struct stat status;
        snprintf(path, sizeof path, "/dev/shm/%s", entry->d_name);
        if (lstat(path, &status) == 0 && status.st_uid == getuid()) unlink(path);
    }
    closedir(directory);
}

/* Creates the segment on first use and grows it (contents not kept) to at least `needed`. */
static lomad_result segment_reserve(lomad_shm_segment *segment, const char *role, size_t needed, lomad_error *err) {
    if (segment->fd < 0) {
        remove_stale_segments();
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(segment->name, sizeof segment->name, "/lomad-%s-%ld-%lx%lx", role, (long)getpid(), (unsigned long)now.tv_nsec,
                 (unsigned long)random());
        segment->fd = shm_open(segment->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (segment->fd < 0) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "shm_open(%s): %s", segment->name, strerror(errno));
        if (fchmod(segment->fd, 0600) != 0) { /* the umask can only remove bits; be explicit */
            lomad_result failed = lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "fchmod(%s): %s", segment->name, strerror(errno));
            segment_close(segment);
            return failed;
        }
    }
    if (needed <= segment->capacity) return LOMAD_OK;
    size_t capacity = needed > 2 * segment->capacity ? needed : 2 * segment->capacity;
    if (segment->map) munmap(segment->map, segment->capacity);
    segment->map = NULL;
    segment->capacity = 0;
    if (ftruncate(segment->fd, (off_t)capacity) != 0)
        return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "ftruncate(%s, %zu): %s", segment->name, capacity, strerror(errno));
    void *map = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, segment->fd, 0);
    if (map == MAP_FAILED) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "mmap(%s): %s", segment->name, strerror(errno));
    segment->map = map;
    segment->capacity = capacity;
    return LOMAD_OK;
}

lomad_result lomad_shm_prepare(lomad_shm_channel *channel, Loma__V1__Request *request, const lomad_tensor *const *tensors,
                               size_t n_tensors, int *prepared, lomad_error *err) {
    *prepared = 0;
    if (channel->state != 1 || !lomad_shm_carries_tensors(request) || n_tensors > LOMAD_MAX_REPLY_FRAMES) return LOMAD_OK;
    size_t total = 0, end = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        total += tensors[i]->size;
        loma__v1__shared_memory_span__init(&channel->spans[i]);
        channel->spans[i].offset = end;
        channel->spans[i].length = tensors[i]->size;
        channel->span_pointers[i] = &channel->spans[i];
        end = aligned(end + tensors[i]->size);
    }
    if (total > channel->limit) return LOMAD_OK;
    loma__v1__shared_memory_request__init(&channel->request);
    if (n_tensors > 0) {
        lomad_result result = segment_reserve(&channel->input, "in", end, err);
        if (result != LOMAD_OK) return result;
        for (size_t i = 0; i < n_tensors; i++)
            memcpy((char *)channel->input.map + channel->spans[i].offset, tensors[i]->data, tensors[i]->size);
        channel->request.input_segment = channel->input.name;
        channel->request.n_input_frames = n_tensors;
        channel->request.input_frames = channel->span_pointers;
    }
    size_t capacity = channel->reply_capacity < channel->limit ? channel->reply_capacity : (size_t)channel->limit;
    lomad_result result = segment_reserve(&channel->reply, "out", capacity, err);
    if (result != LOMAD_OK) return result;
    channel->request.reply_segment = channel->reply.name;
    channel->request.reply_capacity = capacity;
    request->shared_memory = &channel->request;
    *prepared = 1;
    return LOMAD_OK;
}

lomad_result lomad_shm_take_reply(lomad_shm_channel *channel, lomad_reply *reply, lomad_error *err) {
    const Loma__V1__SharedMemoryReply *placed = reply->envelope->shared_memory;
    if (!placed) return LOMAD_OK;
    if (placed->reply_bytes_needed > channel->reply_capacity) channel->reply_capacity = (size_t)placed->reply_bytes_needed;
    if (placed->n_frames == 0) return LOMAD_OK;
    if (reply->n_frames != 1 || placed->n_frames >= LOMAD_MAX_REPLY_FRAMES || !channel->reply.map)
        return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "the reply names %zu tensors in shared memory this client cannot take",
                          placed->n_frames);
    for (size_t i = 0; i < placed->n_frames; i++) {
        uint64_t offset = placed->frames[i]->offset, length = placed->frames[i]->length;
        if (offset > channel->reply.capacity || length > channel->reply.capacity - offset)
            return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "shared_memory.frames[%zu] lies outside the %zu-byte reply segment", i,
                              channel->reply.capacity);
        /* Copied out: the next request reuses the segment, and results outlive it. */
        zmq_msg_t *frame = &reply->frames[reply->n_frames];
        if (zmq_msg_init_size(frame, (size_t)length) != 0)
            return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory for a %llu-byte tensor", (unsigned long long)length);
        memcpy(zmq_msg_data(frame), (const char *)channel->reply.map + offset, (size_t)length);
        reply->n_frames++;
    }
    return LOMAD_OK;
}
