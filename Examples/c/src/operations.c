/*
 * Every loma.v1 operation: building the request, checking the reply, and turning it into a
 * result whose strings and tensors point into the received reply (owned by the result).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOMAD_WITH_PROTOBUF
#include "internal.h"

/* ---- helpers ----------------------------------------------------------------------------- */

size_t lomad_dtype_size(lomad_dtype dtype) {
    switch (dtype) {
    case LOMAD_DTYPE_F32: return 4;
    case LOMAD_DTYPE_F16:
    case LOMAD_DTYPE_BF16: return 2;
    case LOMAD_DTYPE_I64: return 8;
    default: return 0;
    }
}

/* Lower case, as every lomad client and lomactl print them. */
const char *lomad_status_name(int status_code) {
    static const char *const names[] = {"ok",          "invalid_argument", "not_found",   "failed_precondition",
                                        "resource_exhausted", "unauthenticated", "permission_denied",
                                        "unavailable", "internal",         "unimplemented"};
    return status_code >= 0 && (size_t)status_code < sizeof names / sizeof names[0] ? names[status_code] : "unknown_status";
}

const char *lomad_result_kind(lomad_result result) {
    switch (result) {
    case LOMAD_OK: return "ok";
    case LOMAD_ERR_ARGUMENT: return "invalid argument";
    case LOMAD_ERR_SYSTEM: return "system error";
    case LOMAD_ERR_TIMEOUT: return "timeout";
    case LOMAD_ERR_MALFORMED: return "malformed reply";
    case LOMAD_ERR_STATUS: return "error status";
    case LOMAD_ERR_ENDPOINT: return "invalid endpoint";
    case LOMAD_ERR_UNAVAILABLE: return "unavailable";
    case LOMAD_ERR_NOT_ADMITTED: return "not admitted";
    }
    return "unknown result";
}

static const char *text(const char *value) { return value ? value : ""; }

static lomad_result check_tensor(const lomad_tensor *tensor, const char *what, lomad_error *err) {
    if (!tensor) return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "%s is NULL", what);
    size_t element = lomad_dtype_size(tensor->dtype);
    if (element == 0 || tensor->dtype == LOMAD_DTYPE_I64)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "%s has dtype %d; KV tensors are f32, f16 or bf16", what, tensor->dtype);
    if (tensor->layout != LOMAD_LAYOUT_HEADS_MAJOR && tensor->layout != LOMAD_LAYOUT_TOKENS_MAJOR)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "%s has layout %d; expected heads-major or tokens-major", what,
                          tensor->layout);
    uint64_t elements = 1;
    for (int axis = 0; axis < 4; axis++) {
        if (tensor->shape[axis] == 0) return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "%s has a zero axis %d", what, axis);
        if (elements > UINT64_MAX / tensor->shape[axis]) return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "%s is too large", what);
        elements *= tensor->shape[axis];
    }
    if (elements > SIZE_MAX / element || elements * element != tensor->size || !tensor->data)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "%s: shape [%llu, %llu, %llu, %llu] needs %llu bytes, got %zu", what,
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

static uint64_t tokens_of(const lomad_tensor *tensor) {
    return tensor->shape[tensor->layout == LOMAD_LAYOUT_TOKENS_MAJOR ? 1 : 2];
}

/* The reply tensor a descriptor names, checked against its frame. */
static lomad_result reply_tensor(const lomad_reply *reply, const Loma__V1__TensorDescriptor *descriptor, const char *what,
                                 lomad_tensor *tensor, lomad_error *err) {
    if (!descriptor) return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "%s has no descriptor", what);
    if (descriptor->frame < 1 || descriptor->frame >= reply->n_frames)
        return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "%s names frame %u of a %zu-frame reply", what, descriptor->frame,
                          reply->n_frames);
    if (descriptor->n_shape != 4)
        return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "%s has %zu axes, not 4", what, descriptor->n_shape);
    memset(tensor, 0, sizeof *tensor);
    tensor->dtype = (lomad_dtype)descriptor->dtype;
    tensor->layout = (lomad_layout)descriptor->layout;
    memcpy(tensor->shape, descriptor->shape, sizeof tensor->shape);
    zmq_msg_t *frame = (zmq_msg_t *)&reply->frames[descriptor->frame];
    tensor->data = zmq_msg_data(frame);
    tensor->size = zmq_msg_size(frame);
    lomad_error local;
    if (check_tensor(tensor, what, &local) != LOMAD_OK)
        return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "reply: %s", local.message);
    return LOMAD_OK;
}

/* A memory result from a reply's KVPair and positions; takes the reply (released on failure). */
static lomad_result memory_result(lomad_reply *reply, const Loma__V1__KVPair *pair, const int64_t *positions,
                                  size_t n_positions, const char *what, lomad_memory **out, lomad_error *err) {
    lomad_memory memory = {0};
    char name[64];
    lomad_result result = LOMAD_OK;
    if (pair) {
        snprintf(name, sizeof name, "%s.memory.keys", what);
        result = reply_tensor(reply, pair->keys, name, &memory.keys, err);
        snprintf(name, sizeof name, "%s.memory.values", what);
        if (result == LOMAD_OK) result = reply_tensor(reply, pair->values, name, &memory.values, err);
        if (result == LOMAD_OK && n_positions != tokens_of(&memory.keys))
            result = lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "%s reply has %zu positions for %llu memory tokens", what, n_positions,
                                (unsigned long long)tokens_of(&memory.keys));
    }
    if (result != LOMAD_OK) {
        lomad_reply_release(reply);
        return result;
    }
    memory.positions = positions;
    memory.n_positions = n_positions;
    lomad_memory *copy = lomad_result_new(sizeof *copy, 0, reply);
    if (!copy) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    *copy = memory;
    *out = copy;
    return LOMAD_OK;
}

static void sequence_info(const Loma__V1__SequenceInfo *info, lomad_sequence_info *out) {
    memset(out, 0, sizeof *out);
    out->name = info ? text(info->name) : "";
    out->model = info ? text(info->model) : "";
    if (!info) return;
    out->segments = info->segments;
    out->memory_tokens = info->memory_tokens;
    out->next_position = info->next_position;
    out->bytes = info->bytes;
}

/* The reply's result must be the operation asked for. */
static lomad_result expect(lomad_reply *reply, Loma__V1__Reply__ResultCase expected, const char *what, lomad_error *err) {
    if (reply->envelope->result_case == expected) return LOMAD_OK;
    lomad_reply_release(reply);
    return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "the %s reply carries no %s result", what, what);
}

#define CHECK_CLIENT(name)                                                                                           \
    do {                                                                                                             \
        if (!client || !out) return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, name ": client and out must not be NULL"); \
        *out = NULL;                                                                                                 \
    } while (0)

/* ---- health and models ------------------------------------------------------------------- */

static void model_info(const Loma__V1__ModelInfo *info, lomad_model *model) {
    memset(model, 0, sizeof *model);
    model->name = text(info->name);
    model->architecture = text(info->architecture);
    model->layers = info->layers;
    model->kv_heads = info->kv_heads;
    model->head_dim = info->head_dim;
    model->segment_length = info->segment_length;
    model->compression_ratio = info->compression_ratio;
    model->memory_tokens_per_segment = info->memory_tokens_per_segment;
    model->hidden_size = info->hidden_size;
    model->attention_heads = info->attention_heads;
    model->load_seconds = info->load_seconds;
}

static lomad_result health_reply(lomad_client *client, lomad_reply **reply, lomad_error *err) {
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    Loma__V1__HealthRequest health = LOMA__V1__HEALTH_REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_HEALTH;
    request.health = &health;
    lomad_result result = lomad_round_trip(client, &request, NULL, 0, 1, reply, err);
    if (result != LOMAD_OK) return result;
    return expect(*reply, LOMA__V1__REPLY__RESULT_HEALTH, "health", err);
}

lomad_result lomad_health(lomad_client *client, lomad_health_info **out, lomad_error *err) {
    CHECK_CLIENT("lomad_health");
    lomad_reply *reply = NULL;
    lomad_result result = health_reply(client, &reply, err);
    if (result != LOMAD_OK) return result;
    const Loma__V1__HealthReply *health = reply->envelope->health;
    size_t size = lomad_align(sizeof(lomad_health_info));
    lomad_health_info *info = lomad_result_new(sizeof *info, health->n_models * sizeof(lomad_model), reply);
    if (!info) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    lomad_model *models = (lomad_model *)((char *)info + size);
    for (size_t i = 0; i < health->n_models; i++) model_info(health->models[i], &models[i]);
    info->version = text(health->version);
    info->protocol_version = health->protocol_version;
    info->tenant = text(health->tenant);
    info->uptime_seconds = health->uptime_seconds;
    if (health->limits) {
        info->max_frame_bytes = health->limits->max_frame_bytes;
        info->hard_max_message_bytes = health->limits->hard_max_message_bytes;
        info->max_frames = health->limits->max_frames;
        info->queue_depth = health->limits->queue_depth;
        info->workers = health->limits->workers;
        info->max_queued_bytes = health->limits->max_queued_bytes;
        info->max_connections = health->limits->max_connections;
        info->max_connections_per_peer = health->limits->max_connections_per_peer;
        info->max_reply_bytes = health->limits->max_reply_bytes;
        info->max_segments_per_request = health->limits->max_segments_per_request;
        info->max_compute_seconds = health->limits->max_compute_seconds;
        info->tenant_queue_percent = health->limits->tenant_queue_percent;
    }
    info->n_models = health->n_models;
    info->models = models;
    *out = info;
    return LOMAD_OK;
}

lomad_result lomad_model_info(lomad_client *client, const char *model, lomad_model **out, lomad_error *err) {
    CHECK_CLIENT("lomad_model_info");
    lomad_reply *reply = NULL;
    lomad_result result = health_reply(client, &reply, err);
    if (result != LOMAD_OK) return result;
    const Loma__V1__HealthReply *health = reply->envelope->health;
    const Loma__V1__ModelInfo *found = NULL;
    char names[256] = "";
    for (size_t i = 0; i < health->n_models; i++) {
        if (model && *model && strcmp(text(health->models[i]->name), model) == 0) found = health->models[i];
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", text(health->models[i]->name));
    }
    if ((!model || !*model) && health->n_models == 1) found = health->models[0];
    if (!found) {
        if (model && *model)
            result = lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad serves no model '%s' (it serves: %s)", model, names);
        else
            result = lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad serves %zu models (%s); name one", health->n_models, names);
        lomad_reply_release(reply);
        return result;
    }
    lomad_model *info = lomad_result_new(sizeof *info, 0, reply);
    if (!info) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    model_info(found, info);
    *out = info;
    return LOMAD_OK;
}

/* ---- stats ------------------------------------------------------------------------------- */

lomad_result lomad_stats_get(lomad_client *client, lomad_stats **out, lomad_error *err) {
    CHECK_CLIENT("lomad_stats_get");
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    Loma__V1__StatsRequest stats_request = LOMA__V1__STATS_REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_STATS;
    request.stats = &stats_request;
    lomad_reply *reply = NULL;
    lomad_result result = lomad_round_trip(client, &request, NULL, 0, 1, &reply, err);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_STATS, "stats", err);
    if (result != LOMAD_OK) return result;
    const Loma__V1__StatsReply *reply_stats = reply->envelope->stats;

    /* One block: the struct, then operations, status counts and batch sizes. */
    size_t n_statuses = 0;
    for (size_t i = 0; i < reply_stats->n_operations; i++) n_statuses += reply_stats->operations[i]->n_statuses;
    size_t operations_size = lomad_align(reply_stats->n_operations * sizeof(lomad_operation_stats));
    size_t statuses_size = lomad_align(n_statuses * sizeof(lomad_status_count));
    size_t batches_size = reply_stats->n_batch_sizes * sizeof(lomad_batch_size_count);
    lomad_stats *stats = lomad_result_new(sizeof *stats, operations_size + statuses_size + batches_size, reply);
    if (!stats) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    char *arrays = (char *)stats + lomad_align(sizeof *stats);
    lomad_operation_stats *operations = (lomad_operation_stats *)arrays;
    lomad_status_count *statuses = (lomad_status_count *)(arrays + operations_size);
    lomad_batch_size_count *batches = (lomad_batch_size_count *)(arrays + operations_size + statuses_size);

    for (size_t i = 0; i < reply_stats->n_operations; i++) {
        const Loma__V1__OperationStats *source = reply_stats->operations[i];
        lomad_operation_stats *operation = &operations[i];
        operation->operation = text(source->operation);
        operation->statuses = statuses;
        operation->n_statuses = source->n_statuses;
        for (size_t j = 0; j < source->n_statuses; j++) {
            statuses->code = (int)source->statuses[j]->code;
            statuses->count = source->statuses[j]->count;
            statuses++;
        }
        operation->n_latency_bounds = source->n_latency_upper_seconds;
        operation->latency_upper_seconds = source->latency_upper_seconds;
        operation->n_latency_counts = source->n_latency_counts;
        operation->latency_counts = source->latency_counts;
        operation->latency_sum_seconds = source->latency_sum_seconds;
    }
    for (size_t i = 0; i < reply_stats->n_batch_sizes; i++) {
        batches[i].batch_size = reply_stats->batch_sizes[i]->batch_size;
        batches[i].count = reply_stats->batch_sizes[i]->count;
    }
    stats->uptime_seconds = reply_stats->uptime_seconds;
    stats->queue_depth = reply_stats->queue_depth;
    stats->busy_workers = reply_stats->busy_workers;
    stats->workers = reply_stats->workers;
    stats->undeliverable_replies = reply_stats->undeliverable_replies;
    stats->held_request_bytes = reply_stats->held_request_bytes;
    stats->n_operations = reply_stats->n_operations;
    stats->operations = operations;
    stats->n_batch_sizes = reply_stats->n_batch_sizes;
    stats->batch_sizes = batches;
    const Loma__V1__StoreStats *store = reply_stats->store;
    stats->store.mode = store ? text(store->mode) : "";
    if (store) {
        stats->store.sequences = store->sequences;
        stats->store.prefix_entries = store->prefix_entries;
        stats->store.ram_bytes = store->ram_bytes;
        stats->store.ram_segments = store->ram_segments;
        stats->store.ram_budget_bytes = store->ram_budget_bytes;
        stats->store.ram_evictions = store->ram_evictions;
        stats->store.ram_hits = store->ram_hits;
        stats->store.ram_misses = store->ram_misses;
        stats->store.durable_segments = store->durable_segments;
        stats->store.durable_segment_bytes = store->durable_segment_bytes;
        stats->store.durable_file_bytes = store->durable_file_bytes;
        stats->store.map_size_bytes = store->map_size_bytes;
        stats->store.expired_purged = store->expired_purged;
        stats->store.prefix_lookups = store->prefix_lookups;
        stats->store.prefix_chunks_found = store->prefix_chunks_found;
    }
    stats->tenant.name = reply_stats->tenant ? text(reply_stats->tenant->name) : "";
    if (reply_stats->tenant) {
        stats->tenant.bytes = reply_stats->tenant->bytes;
        stats->tenant.quota_bytes = reply_stats->tenant->quota_bytes;
    }
    *out = stats;
    return LOMAD_OK;
}

/* ---- compress ---------------------------------------------------------------------------- */

lomad_result lomad_compress(lomad_client *client, const lomad_tensor *keys, const lomad_tensor *values,
                            const lomad_compress_options *options, lomad_memory **out, lomad_error *err) {
    CHECK_CLIENT("lomad_compress");
    lomad_compress_options defaults = {0};
    if (!options) options = &defaults;
    lomad_result result = check_tensor(keys, "keys", err);
    if (result == LOMAD_OK) result = check_tensor(values, "values", err);
    int has_context = options->context_keys || options->context_values;
    if (result == LOMAD_OK && has_context) {
        result = check_tensor(options->context_keys, "context keys", err);
        if (result == LOMAD_OK) result = check_tensor(options->context_values, "context values", err);
    }
    if (result != LOMAD_OK) return result;

    Loma__V1__TensorDescriptor descriptors[4] = {LOMA__V1__TENSOR_DESCRIPTOR__INIT, LOMA__V1__TENSOR_DESCRIPTOR__INIT,
                                                 LOMA__V1__TENSOR_DESCRIPTOR__INIT, LOMA__V1__TENSOR_DESCRIPTOR__INIT};
    const lomad_tensor *tensors[4] = {keys, values, options->context_keys, options->context_values};
    size_t n_tensors = has_context ? 4 : 2;
    for (size_t i = 0; i < n_tensors; i++) describe(&descriptors[i], tensors[i], (uint32_t)i + 1);
    Loma__V1__KVPair segment = LOMA__V1__KVPAIR__INIT, context = LOMA__V1__KVPAIR__INIT;
    segment.keys = &descriptors[0];
    segment.values = &descriptors[1];
    context.keys = &descriptors[2];
    context.values = &descriptors[3];
    Loma__V1__CompressRequest compress = LOMA__V1__COMPRESS_REQUEST__INIT;
    compress.model = (char *)text(options->model);
    compress.sequence = (char *)text(options->sequence);
    compress.segment = &segment;
    if (has_context) compress.context = &context;
    if (options->has_position) {
        compress._position_case = LOMA__V1__COMPRESS_REQUEST___POSITION_POSITION;
        compress.position = options->position;
    }
    compress.output_dtype = (Loma__V1__DType)options->output_dtype;
    compress.output_layout = (Loma__V1__KVLayout)options->output_layout;
    compress.method = (Loma__V1__CompressionMethod)options->method;
    compress.check_finite = options->check_finite != 0;
    compress.ttl_seconds = options->ttl_seconds;
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_COMPRESS;
    request.compress = &compress;

    lomad_reply *reply = NULL;
    /* Appending to a sequence twice would store the memory twice: never re-send those. */
    result = lomad_round_trip(client, &request, tensors, n_tensors, compress.sequence[0] == '\0', &reply, err);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_COMPRESS, "compress", err);
    if (result != LOMAD_OK) return result;
    const Loma__V1__CompressReply *answer = reply->envelope->compress;
    if (!answer->memory) {
        lomad_reply_release(reply);
        return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "compress reply without memory");
    }
    result = memory_result(reply, answer->memory, answer->positions, answer->n_positions, "compress", out, err);
    if (result == LOMAD_OK) (*out)->segments = answer->segments;
    return result;
}

/* ---- sequences --------------------------------------------------------------------------- */

lomad_result lomad_read_memory(lomad_client *client, const char *sequence, const lomad_read_options *options,
                               lomad_memory **out, lomad_error *err) {
    CHECK_CLIENT("lomad_read_memory");
    if (!sequence || !*sequence) return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_read_memory needs a sequence name");
    lomad_read_options defaults = {0};
    if (!options) options = &defaults;
    Loma__V1__ReadMemoryRequest read = LOMA__V1__READ_MEMORY_REQUEST__INIT;
    read.sequence = (char *)sequence;
    read.first_segment = options->first_segment;
    read.segment_count = options->segment_count;
    read.output_dtype = (Loma__V1__DType)options->output_dtype;
    read.output_layout = (Loma__V1__KVLayout)options->output_layout;
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_READ_MEMORY;
    request.read_memory = &read;
    lomad_reply *reply = NULL;
    lomad_result result = lomad_round_trip(client, &request, NULL, 0, 1, &reply, err);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_READ_MEMORY, "read_memory", err);
    if (result != LOMAD_OK) return result;
    const Loma__V1__ReadMemoryReply *answer = reply->envelope->read_memory;
    if (!answer->memory) {
        lomad_reply_release(reply);
        return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "read_memory reply without memory");
    }
    result = memory_result(reply, answer->memory, answer->positions, answer->n_positions, "read_memory", out, err);
    if (result != LOMAD_OK) return result;
    (*out)->segments = answer->segments;
    (*out)->has_sequence = 1;
    sequence_info(answer->sequence, &(*out)->sequence);
    return LOMAD_OK;
}

lomad_result lomad_fork_sequence(lomad_client *client, const char *source, const char *destination,
                                 lomad_sequence_info **out, lomad_error *err) {
    if (out) *out = NULL;
    if (!client || !source || !*source || !destination || !*destination)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_fork_sequence needs a client, a source and a destination");
    Loma__V1__ForkSequenceRequest fork = LOMA__V1__FORK_SEQUENCE_REQUEST__INIT;
    fork.source = (char *)source;
    fork.destination = (char *)destination;
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_FORK_SEQUENCE;
    request.fork_sequence = &fork;
    lomad_reply *reply = NULL;
    /* A re-sent fork would find its destination taken and fail although the first one worked. */
    lomad_result result = lomad_round_trip(client, &request, NULL, 0, 0, &reply, err);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_FORK_SEQUENCE, "fork_sequence", err);
    if (result != LOMAD_OK) return result;
    if (!out) {
        lomad_reply_release(reply);
        return LOMAD_OK;
    }
    lomad_sequence_info *info = lomad_result_new(sizeof *info, 0, reply);
    if (!info) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    sequence_info(reply->envelope->fork_sequence->sequence, info);
    *out = info;
    return LOMAD_OK;
}

lomad_result lomad_delete_sequence(lomad_client *client, const char *sequence, lomad_error *err) {
    if (!client || !sequence || !*sequence)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_delete_sequence needs a client and a sequence name");
    Loma__V1__DeleteSequenceRequest remove = LOMA__V1__DELETE_SEQUENCE_REQUEST__INIT;
    remove.sequence = (char *)sequence;
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_DELETE_SEQUENCE;
    request.delete_sequence = &remove;
    lomad_reply *reply = NULL;
    /* A re-sent delete would answer not_found although the first one worked. */
    lomad_result result = lomad_round_trip(client, &request, NULL, 0, 0, &reply, err);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_DELETE_SEQUENCE, "delete_sequence", err);
    if (result == LOMAD_OK) lomad_reply_release(reply);
    return result;
}

lomad_result lomad_list_sequences(lomad_client *client, const char *name_prefix, lomad_sequence_list **out,
                                  lomad_error *err) {
    CHECK_CLIENT("lomad_list_sequences");
    Loma__V1__ListSequencesRequest list = LOMA__V1__LIST_SEQUENCES_REQUEST__INIT;
    list.name_prefix = (char *)text(name_prefix);
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_LIST_SEQUENCES;
    request.list_sequences = &list;
    lomad_reply *reply = NULL;
    lomad_result result = lomad_round_trip(client, &request, NULL, 0, 1, &reply, err);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_LIST_SEQUENCES, "list_sequences", err);
    if (result != LOMAD_OK) return result;
    const Loma__V1__ListSequencesReply *answer = reply->envelope->list_sequences;
    lomad_sequence_list *listing =
        lomad_result_new(sizeof *listing, answer->n_sequences * sizeof(lomad_sequence_info), reply);
    if (!listing) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
    lomad_sequence_info *sequences = (lomad_sequence_info *)((char *)listing + lomad_align(sizeof *listing));
    for (size_t i = 0; i < answer->n_sequences; i++) sequence_info(answer->sequences[i], &sequences[i]);
    listing->count = answer->n_sequences;
    listing->sequences = sequences;
    *out = listing;
    return LOMAD_OK;
}

/* ---- prefix sharing ---------------------------------------------------------------------- */

/* Protobuf-c wants the hashes as ProtobufCBinaryData; they point at the caller's bytes. */
static ProtobufCBinaryData *hash_list(const uint8_t (*hashes)[LOMAD_HASH_SIZE], size_t n_chunks, lomad_error *err) {
    ProtobufCBinaryData *list = calloc(n_chunks ? n_chunks : 1, sizeof *list);
    if (!list) {
        lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n_chunks; i++) {
        list[i].len = LOMAD_HASH_SIZE;
        list[i].data = (uint8_t *)hashes[i];
    }
    return list;
}

lomad_result lomad_publish_prefix(lomad_client *client, const char *model, const uint8_t (*hashes)[LOMAD_HASH_SIZE],
                                  size_t n_chunks, const lomad_tensor *keys, const lomad_tensor *values,
                                  const int64_t *positions, size_t n_positions, uint32_t *stored_chunks,
                                  lomad_error *err) {
    if (!client || !hashes || n_chunks == 0 || (n_positions && !positions))
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_publish_prefix needs a client, at least one chunk hash and the positions");
    lomad_result result = check_tensor(keys, "keys", err);
    if (result == LOMAD_OK) result = check_tensor(values, "values", err);
    if (result != LOMAD_OK) return result;
    ProtobufCBinaryData *list = hash_list(hashes, n_chunks, err);
    if (!list) return LOMAD_ERR_SYSTEM;
    Loma__V1__TensorDescriptor key_descriptor = LOMA__V1__TENSOR_DESCRIPTOR__INIT;
    Loma__V1__TensorDescriptor value_descriptor = LOMA__V1__TENSOR_DESCRIPTOR__INIT;
    describe(&key_descriptor, keys, 1);
    describe(&value_descriptor, values, 2);
    Loma__V1__KVPair memory = LOMA__V1__KVPAIR__INIT;
    memory.keys = &key_descriptor;
    memory.values = &value_descriptor;
    Loma__V1__PublishPrefixRequest publish = LOMA__V1__PUBLISH_PREFIX_REQUEST__INIT;
    publish.model = (char *)text(model);
    publish.n_chunk_hashes = n_chunks;
    publish.chunk_hashes = list;
    publish.memory = &memory;
    publish.n_positions = n_positions;
    publish.positions = (int64_t *)positions;
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_PUBLISH_PREFIX;
    request.publish_prefix = &publish;
    const lomad_tensor *tensors[2] = {keys, values};
    lomad_reply *reply = NULL;
    /* Publishing again stores nothing twice, so a publish is safe to re-send. */
    result = lomad_round_trip(client, &request, tensors, 2, 1, &reply, err);
    free(list);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_PUBLISH_PREFIX, "publish_prefix", err);
    if (result != LOMAD_OK) return result;
    if (stored_chunks) *stored_chunks = reply->envelope->publish_prefix->stored_chunks;
    lomad_reply_release(reply);
    return LOMAD_OK;
}

lomad_result lomad_lookup_prefix(lomad_client *client, const char *model, const uint8_t (*hashes)[LOMAD_HASH_SIZE],
                                 size_t n_chunks, lomad_dtype output_dtype, lomad_layout output_layout,
                                 lomad_memory **out, lomad_error *err) {
    CHECK_CLIENT("lomad_lookup_prefix");
    if (!hashes || n_chunks == 0)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_lookup_prefix needs at least one chunk hash");
    ProtobufCBinaryData *list = hash_list(hashes, n_chunks, err);
    if (!list) return LOMAD_ERR_SYSTEM;
    Loma__V1__LookupPrefixRequest lookup = LOMA__V1__LOOKUP_PREFIX_REQUEST__INIT;
    lookup.model = (char *)text(model);
    lookup.n_chunk_hashes = n_chunks;
    lookup.chunk_hashes = list;
    lookup.output_dtype = (Loma__V1__DType)output_dtype;
    lookup.output_layout = (Loma__V1__KVLayout)output_layout;
    Loma__V1__Request request = LOMA__V1__REQUEST__INIT;
    request.operation_case = LOMA__V1__REQUEST__OPERATION_LOOKUP_PREFIX;
    request.lookup_prefix = &lookup;
    lomad_reply *reply = NULL;
    lomad_result result = lomad_round_trip(client, &request, NULL, 0, 1, &reply, err);
    free(list);
    if (result == LOMAD_OK) result = expect(reply, LOMA__V1__REPLY__RESULT_LOOKUP_PREFIX, "lookup_prefix", err);
    if (result != LOMAD_OK) return result;
    const Loma__V1__LookupPrefixReply *answer = reply->envelope->lookup_prefix;
    /* No match: no memory travels, and the result has empty tensors. */
    const Loma__V1__KVPair *memory = answer->matched_chunks ? answer->memory : NULL;
    if (answer->matched_chunks && !memory) {
        lomad_reply_release(reply);
        return lomad_fail(err, LOMAD_ERR_MALFORMED, 0, "lookup_prefix matched %u chunks but carries no memory", answer->matched_chunks);
    }
    uint32_t matched = answer->matched_chunks;
    result = memory_result(reply, memory, answer->positions, answer->n_positions, "lookup_prefix", out, err);
    if (result == LOMAD_OK) {
        (*out)->matched_chunks = matched;
        (*out)->segments = matched;
    }
    return result;
}
