/*
 * KV files: safetensors holding `keys` and `values` ([layers, kv_heads, tokens,
 * head_dim], or tokens-major where asked), F32, F16 or BF16; outputs add I64 `positions`.
 */
#ifndef LOMAD_KV_FILE_H
#define LOMAD_KV_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lomad_client.h"

typedef struct {
    uint8_t *bytes; /* the whole file; keys.data and values.data point into it */
    size_t size;
    lomad_tensor keys;
    lomad_tensor values;
} kv_file;

/* 0 on success; otherwise -1 with a message naming the file and what is wrong in `error`. */
int kv_file_read(const char *path, lomad_layout layout, kv_file *file, char *error, size_t error_size);
void kv_file_release(kv_file *file);

/* 0 when `path` can be created: its directory exists and is writable; else -1 naming the
 * directory. Checked before compressing, so that a compress into a sequence is not appended to
 * the sequence only for its output to be lost. */
int kv_file_check_output(const char *path, char *error, size_t error_size);

/* Writes keys, values (as they are) and positions; 0 on success, -1 with `error` set. */
int kv_file_write(const char *path, const lomad_tensor *keys, const lomad_tensor *values, const int64_t *positions,
                  size_t n_positions, char *error, size_t error_size);

#endif
