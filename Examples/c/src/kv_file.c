/*
 * A safetensors reader and writer just large enough for KV files: an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the
 * data. The JSON reader below understands exactly that much JSON and refuses anything else with
 * a message, rather than pulling in a JSON library for one object.
 */
#include "kv_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER_BYTES (100u * 1024u * 1024u)
#define MAX_DEPTH 16

static int failf(char *error, size_t error_size, const char *format, ...) __attribute__((format(printf, 3, 4)));

static int failf(char *error, size_t error_size, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
    return -1;
}

/* ---- a minimal JSON cursor ------------------------------------------------------------------ */

typedef struct {
    const char *at;
    const char *end;
} cursor;

static void skip_space(cursor *c) {
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\t' || *c->at == '\n' || *c->at == '\r')) c->at++;
}

static int expect(cursor *c, char ch) {
    skip_space(c);
    if (c->at >= c->end || *c->at != ch) return -1;
    c->at++;
    return 0;
}

/* A string into out (escapes other than \" and \\ are kept verbatim: names never need them). */
static int read_string(cursor *c, char *out, size_t out_size) {
    if (expect(c, '"') != 0) return -1;
    size_t length = 0;
    while (c->at < c->end && *c->at != '"') {
        char ch = *c->at++;
        if (ch == '\\') {
            if (c->at >= c->end) return -1;
            ch = *c->at++;
            if (ch != '"' && ch != '\\' && length + 1 < out_size) out[length++] = '\\';
        }
        if (length + 1 < out_size) out[length++] = ch;
    }
    if (c->at >= c->end) return -1;
    c->at++;
    if (out_size) out[length < out_size ? length : out_size - 1] = '\0';
    return 0;
}

static int read_unsigned(cursor *c, uint64_t *value) {
    skip_space(c);
    if (c->at >= c->end || *c->at < '0' || *c->at > '9') return -1;
    uint64_t result = 0;
    while (c->at < c->end && *c->at >= '0' && *c->at <= '9') {
        unsigned digit = (unsigned)(*c->at++ - '0');
        if (result > (UINT64_MAX - digit) / 10) return -1;
        result = result * 10 + digit;
    }
    *value = result;
    return 0;
}

static int skip_value(cursor *c, int depth);

static int skip_container(cursor *c, char open, char close, int depth) {
    if (depth > MAX_DEPTH || expect(c, open) != 0) return -1;
    skip_space(c);
    if (c->at < c->end && *c->at == close) return c->at++, 0;
    for (;;) {
        if (open == '{') {
            char key[8];
            if (read_string(c, key, sizeof key) != 0 || expect(c, ':') != 0) return -1;
        }
        if (skip_value(c, depth + 1) != 0) return -1;
        skip_space(c);
        if (c->at < c->end && *c->at == ',') { c->at++; continue; }
        return expect(c, close);
    }
}

static int skip_value(cursor *c, int depth) {
    skip_space(c);
    if (c->at >= c->end) return -1;
    switch (*c->at) {
    case '{': return skip_container(c, '{', '}', depth);
    case '[': return skip_container(c, '[', ']', depth);
    case '"': { char scratch[2]; return read_string(c, scratch, sizeof scratch); }
    default:
        while (c->at < c->end && *c->at != ',' && *c->at != '}' && *c->at != ']') c->at++;
        return 0;
    }
}

static int read_unsigned_array(cursor *c, uint64_t *values, size_t capacity, size_t *count) {
    if (expect(c, '[') != 0) return -1;
    *count = 0;
    skip_space(c);
    if (c->at < c->end && *c->at == ']') return c->at++, 0;
    for (;;) {
        uint64_t value;
        if (read_unsigned(c, &value) != 0) return -1;
        if (*count < capacity) values[*count] = value;
        (*count)++;
        skip_space(c);
        if (c->at < c->end && *c->at == ',') { c->at++; continue; }
        return expect(c, ']');
    }
}

/* ---- header entries ------------------------------------------------------------------------- */

typedef struct {
    int found;
    char dtype[16];
    uint64_t shape[8];
    size_t rank;
    uint64_t offsets[2];
    size_t n_offsets;
} entry;

static int read_entry(cursor *c, entry *out) {
    memset(out, 0, sizeof *out);
    out->found = 1;
    if (expect(c, '{') != 0) return -1;
    skip_space(c);
    if (c->at < c->end && *c->at == '}') return c->at++, 0;
    for (;;) {
        char field[32];
        if (read_string(c, field, sizeof field) != 0 || expect(c, ':') != 0) return -1;
        int status;
        if (strcmp(field, "dtype") == 0) status = read_string(c, out->dtype, sizeof out->dtype);
        else if (strcmp(field, "shape") == 0) status = read_unsigned_array(c, out->shape, 8, &out->rank);
        else if (strcmp(field, "data_offsets") == 0) status = read_unsigned_array(c, out->offsets, 2, &out->n_offsets);
        else status = skip_value(c, 1);
        if (status != 0) return -1;
        skip_space(c);
        if (c->at < c->end && *c->at == ',') { c->at++; continue; }
        return expect(c, '}');
    }
}

static int dtype_from_name(const char *name, lomad_dtype *dtype) {
    if (strcmp(name, "F32") == 0) *dtype = LOMAD_DTYPE_F32;
    else if (strcmp(name, "F16") == 0) *dtype = LOMAD_DTYPE_F16;
    else if (strcmp(name, "BF16") == 0) *dtype = LOMAD_DTYPE_BF16;
    else return -1;
    return 0;
}

static const char *dtype_name(lomad_dtype dtype) {
    switch (dtype) {
    case LOMAD_DTYPE_F32: return "F32";
    case LOMAD_DTYPE_F16: return "F16";
    case LOMAD_DTYPE_BF16: return "BF16";
    case LOMAD_DTYPE_I64: return "I64";
    default: return "?";
    }
}

static int tensor_from_entry(const char *path, const char *name, const entry *e, const uint8_t *data, uint64_t data_size,
                             lomad_layout layout, const char *names, lomad_tensor *tensor, char *error, size_t error_size) {
    if (!e->found)
        return failf(error, error_size, "%s: no tensor '%s' (the file has: %s)", path, name, *names ? names : "no tensors");
    if (dtype_from_name(e->dtype, &tensor->dtype) != 0)
        return failf(error, error_size, "%s: tensor '%s' has dtype %s; expected F32, F16 or BF16", path, name, e->dtype);
    if (e->rank != 4)
        return failf(error, error_size, "%s: tensor '%s' has %zu axes; expected 4", path, name, e->rank);
    if (e->n_offsets != 2 || e->offsets[0] > e->offsets[1] || e->offsets[1] > data_size)
        return failf(error, error_size, "%s: tensor '%s' has data_offsets outside the %llu-byte data section", path, name,
                     (unsigned long long)data_size);
    uint64_t bytes = lomad_dtype_size(tensor->dtype);
    for (int axis = 0; axis < 4; axis++) {
        if (e->shape[axis] != 0 && bytes > UINT64_MAX / e->shape[axis])
            return failf(error, error_size, "%s: tensor '%s' shape overflows", path, name);
        bytes *= e->shape[axis];
        tensor->shape[axis] = e->shape[axis];
    }
    if (bytes != e->offsets[1] - e->offsets[0])
        return failf(error, error_size, "%s: tensor '%s' spans %llu bytes but %s [%llu, %llu, %llu, %llu] needs %llu", path,
                     name, (unsigned long long)(e->offsets[1] - e->offsets[0]), e->dtype,
                     (unsigned long long)e->shape[0], (unsigned long long)e->shape[1], (unsigned long long)e->shape[2],
                     (unsigned long long)e->shape[3], (unsigned long long)bytes);
    tensor->layout = layout;
    tensor->data = data + e->offsets[0];
    tensor->size = (size_t)bytes;
    return 0;
}

/* Appends name to the comma-separated list in names (truncated with "..." when full). */
static void add_name(char *names, size_t names_size, const char *name) {
    size_t used = strlen(names);
    int written = snprintf(names + used, names_size - used, "%s%s", used ? ", " : "", name);
    if (written < 0 || (size_t)written >= names_size - used) memcpy(names + names_size - 4, "...", 4);
}

/* Reads the header's keys and values entries; every tensor's name goes into names. */
static int parse_header(const char *path, cursor *c, entry *keys, entry *values, char *names, size_t names_size, char *error,
                        size_t error_size) {
    names[0] = '\0';
    if (expect(c, '{') != 0) return failf(error, error_size, "%s: not a safetensors file (its header is not a JSON object)", path);
    skip_space(c);
    if (c->at < c->end && *c->at == '}') return 0;
    for (;;) {
        char name[256];
        if (read_string(c, name, sizeof name) != 0 || expect(c, ':') != 0)
            return failf(error, error_size, "%s: header JSON is malformed (expected a quoted tensor name)", path);
        int status;
        if (strcmp(name, "__metadata__") != 0) add_name(names, names_size, name);
        if (strcmp(name, "keys") == 0) status = read_entry(c, keys);
        else if (strcmp(name, "values") == 0) status = read_entry(c, values);
        else status = skip_value(c, 1);
        if (status != 0) return failf(error, error_size, "%s: header entry '%s' is malformed", path, name);
        skip_space(c);
        if (c->at < c->end && *c->at == ',') { c->at++; continue; }
        if (expect(c, '}') != 0) return failf(error, error_size, "%s: header JSON is malformed after '%s'", path, name);
        return 0;
    }
}

int kv_file_read(const char *path, lomad_layout layout, kv_file *file, char *error, size_t error_size) {
    memset(file, 0, sizeof *file);
    FILE *handle = fopen(path, "rb");
    if (!handle) return failf(error, error_size, "%s: cannot open (%s)", path, strerror(errno));
    long size = -1;
    if (fseek(handle, 0, SEEK_END) == 0) size = ftell(handle);
    if (size < 0 || fseek(handle, 0, SEEK_SET) != 0) {
        fclose(handle);
        return failf(error, error_size, "%s: cannot determine its size", path);
    }
    file->bytes = malloc(size > 0 ? (size_t)size : 1);
    if (!file->bytes) {
        fclose(handle);
        return failf(error, error_size, "%s: out of memory reading %ld bytes", path, size);
    }
    file->size = fread(file->bytes, 1, (size_t)size, handle);
    int read_failed = ferror(handle) || file->size != (size_t)size;
    fclose(handle);
    if (read_failed) {
        kv_file_release(file);
        return failf(error, error_size, "%s: read error", path);
    }
    if (file->size < 8) {
        kv_file_release(file);
        return failf(error, error_size, "%s: %zu bytes is too short for a safetensors file", path, (size_t)size);
    }
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; i--) header_size = header_size << 8 | file->bytes[i];
    if (header_size > MAX_HEADER_BYTES || header_size > file->size - 8) {
        kv_file_release(file);
        return failf(error, error_size, "%s: not a safetensors file (its header length %llu runs past the %zu-byte file)",
                     path, (unsigned long long)header_size, (size_t)size);
    }
    cursor c = {(const char *)file->bytes + 8, (const char *)file->bytes + 8 + header_size};
    entry keys = {0}, values = {0};
    char names[256];
    const uint8_t *data = file->bytes + 8 + header_size;
    uint64_t data_size = file->size - 8 - header_size;
    if (parse_header(path, &c, &keys, &values, names, sizeof names, error, error_size) != 0 ||
        tensor_from_entry(path, "keys", &keys, data, data_size, layout, names, &file->keys, error, error_size) != 0 ||
        tensor_from_entry(path, "values", &values, data, data_size, layout, names, &file->values, error, error_size) != 0) {
        kv_file_release(file);
        return -1;
    }
    if (file->keys.dtype != file->values.dtype || memcmp(file->keys.shape, file->values.shape, sizeof file->keys.shape) != 0) {
        kv_file_release(file);
        return failf(error, error_size, "%s: keys and values differ in dtype or shape", path);
    }
    return 0;
}

void kv_file_release(kv_file *file) {
    free(file->bytes);
    memset(file, 0, sizeof *file);
}

int kv_file_check_output(const char *path, char *error, size_t error_size) {
    const char *slash = strrchr(path, '/');
    char directory[4096];
    if (!slash) snprintf(directory, sizeof directory, ".");
    else if (slash == path) snprintf(directory, sizeof directory, "/");
    else if ((size_t)(slash - path) >= sizeof directory) return failf(error, error_size, "%s: the path is too long", path);
    else snprintf(directory, sizeof directory, "%.*s", (int)(slash - path), path);
    struct stat info;
    if (stat(directory, &info) != 0)
        return failf(error, error_size, "%s: the directory %s %s", path, directory,
                     errno == ENOENT ? "does not exist" : strerror(errno));
    if (!S_ISDIR(info.st_mode)) return failf(error, error_size, "%s: %s is not a directory", path, directory);
    if (access(directory, W_OK) != 0)
        return failf(error, error_size, "%s: cannot write into the directory %s (%s)", path, directory, strerror(errno));
    return 0;
}

static int append_entry(char *header, size_t capacity, size_t *length, const char *name, lomad_dtype dtype,
                        const uint64_t *shape, size_t rank, uint64_t begin, uint64_t end) {
    int written = snprintf(header + *length, capacity - *length, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", *length > 1 ? "," : "",
                           name, dtype_name(dtype));
    if (written < 0 || (size_t)written >= capacity - *length) return -1;
    *length += (size_t)written;
    for (size_t axis = 0; axis < rank; axis++) {
        written = snprintf(header + *length, capacity - *length, "%s%llu", axis ? "," : "", (unsigned long long)shape[axis]);
        if (written < 0 || (size_t)written >= capacity - *length) return -1;
        *length += (size_t)written;
    }
    written = snprintf(header + *length, capacity - *length, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)begin,
                       (unsigned long long)end);
    if (written < 0 || (size_t)written >= capacity - *length) return -1;
    *length += (size_t)written;
    return 0;
}

int kv_file_write(const char *path, const lomad_tensor *keys, const lomad_tensor *values, const int64_t *positions,
                  size_t n_positions, char *error, size_t error_size) {
    char header[1024] = "{";
    size_t length = 1;
    uint64_t position_shape[1] = {n_positions};
    uint64_t positions_bytes = (uint64_t)n_positions * sizeof(int64_t);
    if (append_entry(header, sizeof header, &length, "keys", keys->dtype, keys->shape, 4, 0, keys->size) != 0 ||
        append_entry(header, sizeof header, &length, "values", values->dtype, values->shape, 4, keys->size,
                     keys->size + values->size) != 0 ||
        append_entry(header, sizeof header, &length, "positions", LOMAD_DTYPE_I64, position_shape, 1,
                     keys->size + values->size, keys->size + values->size + positions_bytes) != 0 ||
        length + 8 >= sizeof header)
        return failf(error, error_size, "%s: header does not fit", path);
    header[length++] = '}';
    while (length % 8 != 0) header[length++] = ' '; /* aligns the data section, as the Rust writer does */

    FILE *handle = fopen(path, "wb");
    if (!handle) return failf(error, error_size, "%s: cannot create (%s)", path, strerror(errno));
    uint8_t prefix[8];
    for (int i = 0; i < 8; i++) prefix[i] = (uint8_t)((uint64_t)length >> (8 * i));
    int ok = fwrite(prefix, 1, 8, handle) == 8 && fwrite(header, 1, length, handle) == length &&
             fwrite(keys->data, 1, keys->size, handle) == keys->size &&
             fwrite(values->data, 1, values->size, handle) == values->size &&
             (n_positions == 0 || fwrite(positions, sizeof(int64_t), n_positions, handle) == n_positions);
    if (fclose(handle) != 0) ok = 0;
    if (!ok) {
        remove(path);
        return failf(error, error_size, "%s: write failed (%s)", path, strerror(errno));
    }
    return 0;
}
