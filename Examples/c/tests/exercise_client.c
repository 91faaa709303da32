/*
 * Exercises every call of liblomad-client against a real lomad; built by test_library.py from an
 * installed copy with `cc exercise_client.c $(pkg-config --cflags --libs lomad-client)`.
 *
 *   exercise_client walk ENDPOINT MODEL
 *       every operation, each result checked; exit 0 when all hold, 1 naming the first that fails
 *   exercise_client health ENDPOINT [SERVER_KEY_FILE SECRET_KEY_FILE] [TIMEOUT_MS]
 *       one health call; prints "ok tenant=T" or "KIND: MESSAGE" and exits 0 or 10 - result
 *       (so LOMAD_ERR_UNAVAILABLE, -7, exits 17)
 *   exercise_client twice ENDPOINT TIMEOUT_MS
 *       health, then, after a line on stdin, health again with the same client; prints and exits
 *       as `health` does for the second call
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lomad_client.h>

static int failures;

#define CHECK(condition, ...)                                              \
    do {                                                                   \
        if (!(condition)) {                                                \
            fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #condition); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* A call that must succeed; the program stops if it does not (later steps need its result). */
#define MUST(call)                                                                            \
    do {                                                                                      \
        lomad_result must_result = (call);                                                    \
        if (must_result != LOMAD_OK) {                                                        \
            fprintf(stderr, "FAILED %s:%d: %s: %s\n", __FILE__, __LINE__, #call, error.message); \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

static float *random_floats(size_t count, unsigned seed) {
    float *values = malloc(count * sizeof *values);
    if (!values) exit(1);
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1103515245u + 12345u;
        values[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
    }
    return values;
}

static lomad_tensor heads_major(const lomad_model *model, uint64_t tokens, const float *data) {
    lomad_tensor tensor = {.dtype = LOMAD_DTYPE_F32, .layout = LOMAD_LAYOUT_HEADS_MAJOR,
                           .shape = {model->layers, model->kv_heads, tokens, model->head_dim}, .data = data};
    tensor.size = (size_t)(model->layers * model->kv_heads * tokens * model->head_dim) * sizeof(float);
    return tensor;
}

/* Whether rows [first, first + count) of every (layer, head) of `whole` equal `part`'s rows. */
static int same_rows(const lomad_tensor *whole, uint64_t first, const lomad_tensor *part) {
    uint64_t rows = whole->shape[2], part_rows = part->shape[2], dim = whole->shape[3];
    const float *a = whole->data, *b = part->data;
    for (uint64_t block = 0; block < whole->shape[0] * whole->shape[1]; block++)
        if (memcmp(a + (block * rows + first) * dim, b + block * part_rows * dim, part_rows * dim * sizeof(float)) != 0)
            return 0;
    return 1;
}

static int walk(const char *endpoint, const char *model_name) {
    lomad_error error = {0};
    lomad_client *client = lomad_client_new(endpoint, NULL, &error);
    if (!client) {
        fprintf(stderr, "lomad_client_new: %s\n", error.message);
        return 1;
    }

    lomad_health_info *health = NULL;
    MUST(lomad_health(client, &health, &error));
    CHECK(health->version[0] != '\0' && health->protocol_version >= 1, "version '%s'", health->version);
    CHECK(health->n_models >= 1 && health->tenant[0] != '\0', "%zu models, tenant '%s'", health->n_models, health->tenant);
    CHECK(health->workers >= 1 && health->max_frame_bytes > 0, "limits missing");
    CHECK(health->max_connections > 0 && health->max_reply_bytes > 0 && health->max_segments_per_request > 0,
          "connection, reply or per-request limits missing");
    printf("health: lomad %s, protocol %u, %zu models, tenant %s\n", health->version, health->protocol_version,
           health->n_models, health->tenant);

    lomad_model *model = NULL;
    MUST(lomad_model_info(client, model_name, &model, &error));
    CHECK(strcmp(model->name, model_name) == 0, "model '%s'", model->name);
    CHECK(model->layers && model->kv_heads && model->head_dim && model->segment_length && model->compression_ratio,
          "zero in the model's shape");
    CHECK(model->memory_tokens_per_segment * model->compression_ratio == model->segment_length, "ratio");
    printf("model %s (%s): %u layers, %u kv heads, head_dim %u, segment %u, ratio %u\n", model->name,
           model->architecture, model->layers, model->kv_heads, model->head_dim, model->segment_length,
           model->compression_ratio);
    lomad_model *missing = (lomad_model *)client; /* must be reset to NULL on failure */
    CHECK(lomad_model_info(client, "no-such-model", &missing, &error) == LOMAD_ERR_ARGUMENT && !missing &&
              strstr(error.message, model_name),
          "unknown model: %s", error.message);
    if (health->n_models > 1)
        CHECK(lomad_model_info(client, NULL, &missing, &error) == LOMAD_ERR_ARGUMENT, "several models: %s", error.message);

    /* compress: two segments, no sequence */
    uint32_t segment = model->segment_length, memory_tokens = model->memory_tokens_per_segment;
    size_t elements = (size_t)model->layers * model->kv_heads * 2 * segment * model->head_dim;
    float *key_data = random_floats(elements, 1), *value_data = random_floats(elements, 2);
    lomad_tensor keys = heads_major(model, 2 * segment, key_data), values = heads_major(model, 2 * segment, value_data);
    lomad_compress_options options = {.model = model_name, .has_position = 1, .position = 0,
                                      .output_dtype = LOMAD_DTYPE_F32};
    lomad_memory *whole = NULL;
    MUST(lomad_compress(client, &keys, &values, &options, &whole, &error));
    CHECK(whole->segments == 2 && whole->n_positions == 2 * memory_tokens, "%u segments, %zu positions", whole->segments,
          whole->n_positions);
    CHECK(whole->keys.shape[2] == 2 * memory_tokens && whole->keys.dtype == LOMAD_DTYPE_F32 &&
              whole->values.layout == LOMAD_LAYOUT_HEADS_MAJOR,
          "memory shape");
    for (size_t i = 1; i < whole->n_positions; i++) CHECK(whole->positions[i] > whole->positions[i - 1], "positions rise");

    /* On ipc the client passed the KV through shared memory (docs/protocol.md); a frames-only
     * client gets the same bytes over the socket. */
    CHECK(lomad_client_uses_shared_memory(client) == (strncmp(endpoint, "ipc://", 6) == 0), "shared memory on %s: %d",
          endpoint, lomad_client_uses_shared_memory(client));
    lomad_client_options frames_options = lomad_client_default_options();
    frames_options.frames_only = 1;
    lomad_client *frames = lomad_client_new(endpoint, &frames_options, &error);
    CHECK(frames != NULL, "frames-only client: %s", error.message);
    lomad_memory *via_frames = NULL;
    MUST(lomad_compress(frames, &keys, &values, &options, &via_frames, &error));
    CHECK(!lomad_client_uses_shared_memory(frames), "a frames-only client used shared memory");
    CHECK(via_frames->keys.size == whole->keys.size && memcmp(via_frames->keys.data, whole->keys.data, whole->keys.size) == 0 &&
              via_frames->values.size == whole->values.size &&
              memcmp(via_frames->values.data, whole->values.data, whole->values.size) == 0,
          "memory through shared memory differs from memory through frames");
    lomad_free(via_frames);
    lomad_client_free(frames);
    printf("shared memory: %s\n", lomad_client_uses_shared_memory(client) ? "used" : "not used");

    /* output dtype and layout, and an inline context */
    lomad_tensor context_keys = heads_major(model, 3, key_data), context_values = heads_major(model, 3, value_data);
    lomad_compress_options other = {.model = model_name, .output_dtype = LOMAD_DTYPE_F16,
                                    .output_layout = LOMAD_LAYOUT_TOKENS_MAJOR, .context_keys = &context_keys,
                                    .context_values = &context_values, .check_finite = 1};
    lomad_memory *converted = NULL;
    MUST(lomad_compress(client, &keys, &values, &other, &converted, &error));
    CHECK(converted->keys.dtype == LOMAD_DTYPE_F16 && converted->keys.layout == LOMAD_LAYOUT_TOKENS_MAJOR &&
              converted->keys.shape[1] == 2 * memory_tokens && converted->keys.size == whole->keys.size / 2,
          "f16 tokens-major memory");
    lomad_free(converted);

    /* bad arguments never reach the daemon */
    lomad_tensor short_keys = keys;
    short_keys.size -= 4;
    lomad_memory *none = NULL;
    CHECK(lomad_compress(client, &short_keys, &values, &options, &none, &error) == LOMAD_ERR_ARGUMENT && !none &&
              strstr(error.message, "needs"),
          "short keys: %s", error.message);
    lomad_compress_options baseline = options;
    baseline.method = LOMAD_METHOD_MEAN_POOL;
    MUST(lomad_compress(client, &keys, &values, &baseline, &none, &error));
    lomad_free(none);

    /* a sequence built one segment at a time, then read, forked, listed and deleted */
    char name[64], fork_name[80];
    snprintf(name, sizeof name, "c-exercise-%ld", (long)getpid());
    snprintf(fork_name, sizeof fork_name, "%s-fork", name);
    lomad_tensor first_keys = heads_major(model, segment, key_data), first_values = heads_major(model, segment, value_data);
    lomad_compress_options append = {.model = model_name, .sequence = name, .output_dtype = LOMAD_DTYPE_F32};
    lomad_memory *part = NULL;
    for (int round = 0; round < 2; round++) {
        MUST(lomad_compress(client, &first_keys, &first_values, &append, &part, &error));
        CHECK(part->positions[0] == (int64_t)(round * segment) + (int64_t)(whole->positions[0]), "append %d at %lld", round,
              (long long)part->positions[0]);
        lomad_free(part);
    }
    lomad_memory *stored = NULL;
    lomad_read_options read_options = {.output_dtype = LOMAD_DTYPE_F32, .output_layout = LOMAD_LAYOUT_HEADS_MAJOR};
    MUST(lomad_read_memory(client, name, &read_options, &stored, &error));
    CHECK(stored->has_sequence && stored->sequence.segments == 2 && stored->sequence.next_position == 2 * segment,
          "sequence %s: %u segments, next %llu", stored->sequence.name, stored->sequence.segments,
          (unsigned long long)stored->sequence.next_position);
    CHECK(strcmp(stored->sequence.name, name) == 0 && strcmp(stored->sequence.model, model_name) == 0, "sequence names");
    CHECK(stored->n_positions == 2 * memory_tokens && stored->keys.shape[2] == 2 * memory_tokens, "stored memory");
    lomad_read_options second = {.first_segment = 1, .segment_count = 1, .output_dtype = LOMAD_DTYPE_F32};
    lomad_memory *tail = NULL;
    MUST(lomad_read_memory(client, name, &second, &tail, &error));
    CHECK(tail->segments == 1 && same_rows(&stored->keys, memory_tokens, &tail->keys) &&
              same_rows(&stored->values, memory_tokens, &tail->values),
          "segment 1 read alone equals its rows of the whole");
    lomad_free(tail);
    lomad_free(stored);

    lomad_sequence_info *forked = NULL;
    MUST(lomad_fork_sequence(client, name, fork_name, &forked, &error));
    CHECK(strcmp(forked->name, fork_name) == 0 && forked->segments == 2, "fork %s", forked->name);
    lomad_free(forked);
    CHECK(lomad_fork_sequence(client, name, fork_name, NULL, &error) == LOMAD_ERR_STATUS, "fork onto an existing name");
    lomad_sequence_list *list = NULL;
    MUST(lomad_list_sequences(client, name, &list, &error));
    CHECK(list->count == 2, "%zu sequences listed", list->count);
    lomad_free(list);
    MUST(lomad_delete_sequence(client, name, &error));
    MUST(lomad_delete_sequence(client, fork_name, &error));
    CHECK(lomad_delete_sequence(client, name, &error) == LOMAD_ERR_STATUS && strstr(error.message, "not_found"),
          "second delete: %s", error.message);
    lomad_memory *gone = NULL;
    CHECK(lomad_read_memory(client, name, NULL, &gone, &error) == LOMAD_ERR_STATUS && error.status_code == 2 && !gone,
          "read of a deleted sequence: %s", error.message);
    MUST(lomad_list_sequences(client, name, &list, &error));
    CHECK(list->count == 0, "%zu sequences left", list->count);
    lomad_free(list);

    /* prefix sharing: the two-segment memory under the hashes of tokens 0..2*segment-1 */
    uint32_t *tokens = malloc(2 * segment * sizeof *tokens);
    uint8_t(*hashes)[LOMAD_HASH_SIZE] = malloc(2 * LOMAD_HASH_SIZE);
    if (!tokens || !hashes) return 1;
    for (uint32_t i = 0; i < 2 * segment; i++) tokens[i] = i + (uint32_t)getpid();
    CHECK(lomad_chunk_hashes(tokens, 2 * segment + 1, segment, hashes) == 2, "two whole chunks");
    printf("chunk hash 0 of %u..: ", (unsigned)getpid());
    for (int i = 0; i < LOMAD_HASH_SIZE; i++) printf("%02x", hashes[0][i]);
    printf("\n");
    uint32_t stored_chunks = 0;
    MUST(lomad_publish_prefix(client, model_name, (const uint8_t(*)[LOMAD_HASH_SIZE])hashes, 2, &whole->keys,
                              &whole->values, whole->positions, whole->n_positions, &stored_chunks, &error));
    CHECK(stored_chunks == 2, "%u chunks stored", stored_chunks);
    MUST(lomad_publish_prefix(client, model_name, (const uint8_t(*)[LOMAD_HASH_SIZE])hashes, 2, &whole->keys,
                              &whole->values, whole->positions, whole->n_positions, &stored_chunks, &error));
    CHECK(stored_chunks == 0, "%u chunks stored again", stored_chunks);
    lomad_memory *found = NULL;
    MUST(lomad_lookup_prefix(client, model_name, (const uint8_t(*)[LOMAD_HASH_SIZE])hashes, 2, LOMAD_DTYPE_F32,
                             LOMAD_LAYOUT_HEADS_MAJOR, &found, &error));
    CHECK(found->matched_chunks == 2 && found->keys.size == whole->keys.size &&
              memcmp(found->keys.data, whole->keys.data, whole->keys.size) == 0 &&
              memcmp(found->positions, whole->positions, whole->n_positions * sizeof(int64_t)) == 0,
          "lookup returns what was published");
    lomad_free(found);
    hashes[0][0] ^= 0xff;
    MUST(lomad_lookup_prefix(client, model_name, (const uint8_t(*)[LOMAD_HASH_SIZE])hashes, 2, LOMAD_DTYPE_UNSPECIFIED,
                             LOMAD_LAYOUT_UNSPECIFIED, &found, &error));
    CHECK(found->matched_chunks == 0 && found->keys.data == NULL && found->n_positions == 0, "no match");
    lomad_free(found);
    free(hashes);
    free(tokens);

    /* stats count what happened */
    lomad_stats *stats = NULL;
    MUST(lomad_stats_get(client, &stats, &error));
    uint64_t compressed = 0;
    for (size_t i = 0; i < stats->n_operations; i++) {
        const lomad_operation_stats *operation = &stats->operations[i];
        CHECK(operation->n_latency_counts == operation->n_latency_bounds + 1, "%s histogram", operation->operation);
        for (size_t j = 0; j < operation->n_statuses; j++)
            if (strcmp(operation->operation, "compress") == 0 && operation->statuses[j].code == 0)
                compressed += operation->statuses[j].count;
    }
    CHECK(compressed >= 5, "%llu compress requests counted OK", (unsigned long long)compressed);
    CHECK(stats->workers >= 1 && stats->store.mode[0] != '\0' && stats->tenant.name[0] != '\0', "stats fields");
    printf("stats: %zu operations, %llu compressed, store %s, tenant %s\n", stats->n_operations,
           (unsigned long long)compressed, stats->store.mode, stats->tenant.name);
    lomad_free(stats);

    lomad_free(whole);
    free(key_data);
    free(value_data);
    lomad_free(model);
    lomad_free(health);
    lomad_free(NULL);
    lomad_client_free(client);
    printf("%s\n", failures ? "FAILED" : "all calls checked");
    return failures ? 1 : 0;
}

static int health_only(int argc, char **argv) {
    lomad_error error = {0};
    lomad_client_options options = lomad_client_default_options();
    char server_key[LOMAD_KEY_SIZE], secret_key[LOMAD_KEY_SIZE];
    if (argc >= 5) {
        if (lomad_read_key_file(argv[3], server_key, &error) != LOMAD_OK ||
            lomad_read_key_file(argv[4], secret_key, &error) != LOMAD_OK) {
            printf("%s: %s\n", lomad_result_kind(error.result), error.message);
            return 10 - error.result;
        }
        options.curve_server_key = server_key;
        options.curve_secret_key = secret_key;
    }
    if (argc == 4 || argc == 6) options.timeout_ms = atoi(argv[argc - 1]);
    lomad_client *client = lomad_client_new(argv[2], &options, &error);
    lomad_health_info *health = NULL;
    if (client) lomad_health(client, &health, &error);
    lomad_client_free(client);
    if (!health) {
        printf("%s: %s\n", lomad_result_kind(error.result), error.message);
        return 10 - error.result;
    }
    printf("ok tenant=%s\n", health->tenant);
    lomad_free(health);
    return 0;
}

/* One client across a daemon stopping: the second call must see that it is gone at once. */
static int twice(const char *endpoint, int timeout_ms) {
    lomad_error error = {0};
    lomad_client_options options = lomad_client_default_options();
    options.timeout_ms = timeout_ms;
    lomad_client *client = lomad_client_new(endpoint, &options, &error);
    lomad_health_info *health = NULL;
    if (!client || lomad_health(client, &health, &error) != LOMAD_OK) {
        printf("first call: %s\n", error.message);
        lomad_client_free(client);
        return 1;
    }
    printf("first call: ok\n");
    fflush(stdout);
    lomad_free(health);
    health = NULL;
    char line[16];
    if (!fgets(line, sizeof line, stdin)) {
        lomad_client_free(client);
        return 1;
    }
    lomad_result result = lomad_health(client, &health, &error);
    lomad_client_free(client);
    if (result != LOMAD_OK) {
        printf("%s: %s\n", lomad_result_kind(result), error.message);
        return 10 - result;
    }
    printf("ok tenant=%s\n", health->tenant);
    lomad_free(health);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "twice") == 0) return twice(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "walk") == 0) return walk(argv[2], argv[3]);
    if (argc >= 3 && argc <= 6 && strcmp(argv[1], "health") == 0) return health_only(argc, argv);
    fprintf(stderr, "usage: exercise_client walk ENDPOINT MODEL | health ENDPOINT [SERVER_KEY SECRET_KEY] [TIMEOUT_MS]"
                    " | twice ENDPOINT TIMEOUT_MS\n");
    return 64;
}
